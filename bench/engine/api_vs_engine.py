"""`make bench-engine`'s last part: decoding through the streaming API against the engine alone,
in interleaved rounds (engine, then API, then engine…) so a slow spell of this shared machine
falls on both sides alike; each round's ratio, then the median ratio, for one stream and eight.
The API side is `api_stream.py` (a raw SSE reader); the engine side `visioncraft bench-engine`
with the same number of decoded tokens, greedy, one run a round."""
import re
import statistics
import subprocess
import sys

binary, model_file, port, key, model, tokens, rounds = sys.argv[1:8]
tokens, rounds = int(tokens), int(rounds)


def figures(text, pattern):
    return {int(m.group(1)): float(m.group(2)) for m in re.finditer(pattern, text)}


ratios = {1: [], 8: []}
for round_number in range(1, rounds + 1):
    engine = subprocess.run(
        [binary, "bench-engine", "--model", model_file, "--prompt-tokens", "40", "--decode-tokens", str(tokens),
         "--repeats", "1", "--streams", "1,8"], capture_output=True, text=True, check=True).stdout
    api = subprocess.run(
        [sys.executable, "bench/engine/api_stream.py", port, key, model, str(tokens), "1", "1,8"],
        capture_output=True, text=True, check=True).stdout
    alone = figures(engine, r"visioncraft streams=(\d+) aggregate_decode_tokens_per_s=([\d.]+)")
    through = figures(api, r"visioncraft_api streams=(\d+) slowest_stream_tokens_per_s=[\d.]+ aggregate_decode_tokens_per_s=([\d.]+)")
    line = [f"round {round_number}:"]
    for count in (1, 8):
        ratios[count].append(through[count] / alone[count])
        line.append(f"streams={count} api={through[count]:.1f} engine={alone[count]:.1f} ratio={ratios[count][-1]:.2f}")
    print(" ".join(line), flush=True)
for count in (1, 8):
    print(f"visioncraft_api_vs_engine streams={count} median_ratio={statistics.median(ratios[count]):.2f} "
          f"rounds={rounds} min={min(ratios[count]):.2f} max={max(ratios[count]):.2f}")
