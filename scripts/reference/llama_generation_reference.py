"""Writes greedy-generation golden values for the engine's tests with llama.cpp itself (through
llama-cpp-python): for each chat prompt, the prompt's token ids, the first 64 tokens llama.cpp
picks at temperature 0 (or fewer, up to its end-of-turn token), and the 20 largest logits at the
first generated position.

    python3 scripts/reference/llama_generation_reference.py data/models/SmolLM2-135M-Instruct.Q4_1.gguf \
        Tests/LLMEngineTests/Reference/generation-reference.json
"""
import importlib.metadata
import json
import sys

import os

from llama_cpp import Llama

sys.path.insert(0, os.path.dirname(__file__))
from llama_greedy import greedy  # noqa: E402

model_path, out_path = sys.argv[1], sys.argv[2]
# One token per llama.cpp batch: its batched kernels sum in another order and move logits by up to
# ~0.5, so the token-at-a-time path is the one to compare a token-at-a-time engine against.
llm = Llama(model_path=model_path, n_ctx=1024, n_threads=2, n_batch=1, n_ubatch=1, logits_all=True, verbose=False)
eos = llm.token_eos()

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You are a concise assistant."},
     {"role": "user", "content": "Write a haiku about the sea."}],
    [{"role": "user", "content": "List three prime numbers and explain why they are prime."}],
    [{"role": "user", "content": "Translate to French: The cat sleeps on the warm windowsill."}],
]


def chatml(messages):
    # SmolLM2's template adds this system turn when the conversation has none.
    if messages[0]["role"] != "system":
        messages = [{"role": "system", "content": "You are a helpful AI assistant named SmolLM, trained by Hugging Face"}] + messages
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + "<|im_start|>assistant\n"


cases = []
for messages in CONVERSATIONS:
    prompt = chatml(messages)
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
    generated, top = greedy(llm, tokens, 64, eos)
    cases.append({
        "messages": messages, "prompt": prompt, "prompt_ids": tokens, "greedy": generated,
        "text": llm.detokenize(generated).decode("utf-8", errors="replace"), "top_logits": top,
    })

with open(out_path, "w") as out:
    json.dump({
        "generator": f"scripts/reference/llama_generation_reference.py with llama-cpp-python {importlib.metadata.version('llama-cpp-python')}",
        "eos": eos,
        "cases": cases,
    }, out, indent=1, ensure_ascii=False)
    out.write("\n")
