"""llama.cpp's side of `make bench-engine`: the same model, prompt length and decode length as the
engine's measurement, through llama-cpp-python with the same number of threads."""
import sys
import time

from llama_cpp import Llama

model, prompt_tokens, decode_tokens, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 3
llm = Llama(model_path=model, n_ctx=prompt_tokens + decode_tokens + 16, n_threads=threads, n_batch=512, verbose=False)
# The sentence is ten tokens: repeated enough for any prompt length asked (8,000 for long prompts).
prompt = llm.tokenize(("The quick brown fox jumps over the lazy dog. " * max(64, prompt_tokens // 8 + 1)).encode(),
                      add_bos=False)[:prompt_tokens]
best_prefill = best_decode = float("inf")
# The best of `repeats` runs, as on our side: a shared machine only ever slows a run down.
for _ in range(repeats):
    llm.reset()
    start = time.perf_counter()
    llm.eval(prompt)
    best_prefill = min(best_prefill, time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(decode_tokens):
        token = llm.sample(temp=0.0)
        llm.eval([token])
    best_decode = min(best_decode, time.perf_counter() - start)
print(f"llama.cpp threads={threads} prefill_tokens_per_s={prompt_tokens / best_prefill:.1f} "
      f"decode_tokens_per_s={decode_tokens / best_decode:.1f}")
