"""llama.cpp's side of `make bench-tokenizer`: the same files through `Llama.tokenize` of
llama-cpp-python, best of several runs, with the same digest of the ids as our side prints."""
import os
import sys
import time

from llama_cpp import Llama

model, repeats, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
llm = Llama(model_path=model, vocab_only=True, verbose=False)
for path in files:
    data = open(path, "rb").read()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        ids = llm.tokenize(data, add_bos=False, special=False)
        best = min(best, time.perf_counter() - start)
    digest = 0xCBF29CE484222325
    for token in ids:
        digest = ((digest ^ token) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    print(f"llama.cpp   file={os.path.basename(path)} bytes={len(data)} tokens={len(ids)} digest={digest:x} "
          f"best_ms={best * 1000:.1f} mb_per_s={len(data) / best / 1048576:.2f}")
