"""llama.cpp's half of `make bench-quality`: the perplexity llama-perplexity computes, through
llama-cpp-python — the text's tokens (BOS first where the vocabulary adds one) in chunks of the
context size, each evaluated whole from an empty cache (its first token BOS where the vocabulary
adds one), the second half of each chunk scored.

    python3 bench/quality/llama_perplexity.py MODEL TEXT CONTEXT CHUNKS THREADS
"""
import sys
import time

import llama_cpp
import numpy as np
from llama_cpp import Llama

model_path, text_path, context, chunks, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
llm = Llama(model_path=model_path, n_ctx=context, n_batch=context, n_ubatch=context, logits_all=True,
            n_threads=threads, verbose=False)
adds_bos = bool(llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model)))
tokens = llm.tokenize(open(text_path, encoding="utf-8").read().encode(), add_bos=True, special=False)
count = min(len(tokens) // context, chunks if chunks > 0 else len(tokens))
first = context // 2
nll, scored = 0.0, 0
started = time.monotonic()
for index in range(count):
    chunk = tokens[index * context:(index + 1) * context]
    if adds_bos:
        chunk[0] = llm.token_bos()
    llm.reset()
    llm.eval(chunk)
    logits = np.array(llm.scores[:context], dtype=np.float64)
    for position in range(first, context - 1):
        row = logits[position]
        maximum = row.max()
        nll -= row[chunk[position + 1]] - maximum - np.log(np.exp(row - maximum).sum())
        scored += 1
    print(f"[{index + 1}/{count}] {np.exp(nll / scored):.4f}", file=sys.stderr)
print(f"llama.cpp: perplexity {np.exp(nll / scored):.4f} over {scored} tokens ({count} chunks of {context}) "
      f"in {time.monotonic() - started:.0f} s")
