"""Writes golden values for the Gemma 3 architecture with llama.cpp itself (llama-cpp-python) on the
real Gemma 3 270M Q4_K_M file (scripts/fetch-gemma3.sh): how it tokenizes a few texts (BOS added,
as the vocabulary asks), and for a few base-model prompts — one longer than the 512-position
sliding window, so the window's edge is crossed — the prompt's ids, the 20 largest logits after
the prompt and the first 32 greedy tokens with their text; and how it tokenizes plain text (special
tokens not parsed — user-defined ones, such as runs of spaces, still are): the start of the GPL
text bench-quality scores, and a control token written as text.

    python3 scripts/reference/gemma3_reference.py data/models/gemma-3-270m.Q4_K_M.gguf \
        Tests/LLMEngineTests/Reference/gemma3-reference.json
"""
import importlib.metadata
import json
import sys

import os

from llama_cpp import Llama

sys.path.insert(0, os.path.dirname(__file__))
from llama_greedy import greedy  # noqa: E402

model_path, out_path = sys.argv[1], sys.argv[2]
# One token per llama.cpp batch: the token-at-a-time path is the one a token-at-a-time engine is
# compared against (its batched kernels sum in another order).
llm = Llama(model_path=model_path, n_ctx=1024, n_threads=2, n_batch=1, n_ubatch=1, logits_all=True, verbose=False)
eos = llm.token_eos()

TEXTS = [
    "Hello, world!",
    "  Two leading spaces,\ttabs\tand\nnew lines\n\n",
    "Grüße aus Zürich — 東京 🚀 naïve café",
    "def add(a, b):\n    return a + b  # 1234567",
    "<start_of_turn>user\nHi<end_of_turn>",
]

# The sentence repeated past the window, then a question whose answer needs the start.
LONG = "The lighthouse keeper counted the ships that passed the rocks each night. " * 60 + "The keeper counted the"
PROMPTS = [
    "The capital of France is",
    "Once upon a time, in a small village by the sea,",
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
    LONG,
]

tokenized = [{"text": text, "ids": llm.tokenize(text.encode(), add_bos=True, special=True)} for text in TEXTS]
with open("bench/quality/gpl-3.0.txt") as gpl:
    PLAIN = [gpl.read()[:4000], "<start_of_turn>user\nHi<end_of_turn>"]
plain = [{"text": text, "ids": llm.tokenize(text.encode(), add_bos=False, special=False)} for text in PLAIN]
cases = []
for prompt in PROMPTS:
    tokens = llm.tokenize(prompt.encode(), add_bos=True, special=True)
    generated, top = greedy(llm, tokens, 32, eos)
    cases.append({"prompt": prompt, "prompt_ids": tokens, "greedy": generated,
                  "text": llm.detokenize(generated).decode("utf-8", errors="replace"), "top_logits": top})

with open(out_path, "w") as out:
    json.dump({
        "generator": f"scripts/reference/gemma3_reference.py with llama-cpp-python {importlib.metadata.version('llama-cpp-python')}",
        "eos": eos, "tokenized": tokenized, "plain": plain, "cases": cases,
    }, out, indent=1, ensure_ascii=False)
    out.write("\n")
