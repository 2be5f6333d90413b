"""Writes how llama.cpp reads a completions-API prompt (through llama-cpp-python): for each GGUF
file, whether its vocabulary adds BOS and the ids of a few prompts as llama.cpp's server tokenizes
them (BOS when the vocabulary asks for it, special tokens in the text recognised).

    python3 scripts/reference/completion_prompt_reference.py \
        Tests/LLMEngineTests/Reference/completion-prompt-reference.json \
        data/models/SmolLM2-135M-Instruct.Q4_1.gguf Tests/LLMEngineTests/Reference/tiny-llama.gguf
"""
import importlib.metadata
import json
import os
import sys

import llama_cpp
from llama_cpp import Llama

PROMPTS = ["Once upon a time", "<|im_start|>user\nHi<|im_end|>\n", "The capital of France is"]

out_path, *model_paths = sys.argv[1:]
files = []
for path in model_paths:
    llm = Llama(model_path=path, vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    files.append({
        "file": os.path.basename(path),
        "adds_bos": bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
        "prompts": [{"text": text, "ids": llm.tokenize(text.encode(), add_bos=True, special=True)} for text in PROMPTS],
    })

with open(out_path, "w") as out:
    json.dump({"generator": f"scripts/reference/completion_prompt_reference.py with llama-cpp-python "
                            f"{importlib.metadata.version('llama-cpp-python')}", "files": files}, out, indent=1)
    out.write("\n")
