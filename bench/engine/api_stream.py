"""The API side of `make bench-engine`: decode speed as a client sees it, through the running
server's `/v1/chat/completions` with `stream: true`, read by a raw-socket SSE reader (no SDK, so
the client costs next to nothing). For each stream count, that many streams at once; a stream's
speed is its completion tokens after the first over the time from its first content chunk to its
last; the aggregate is all streams' tokens over the time from the first first-chunk to the last
last-chunk. Best of `repeats` rounds."""
import json
import socket
import sys
import threading
import time

port, key, model = int(sys.argv[1]), sys.argv[2], sys.argv[3]
decode, repeats, counts = int(sys.argv[4]), int(sys.argv[5]), [int(c) for c in sys.argv[6].split(",")]
PROMPT = "Count from 1 to 1000 in words, one number per line, and never stop early."


def stream(results, index):
    body = json.dumps({"model": model, "stream": True, "max_tokens": decode, "temperature": 0,
                       "stream_options": {"include_usage": True},
                       "messages": [{"role": "user", "content": PROMPT}]}).encode()
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       + f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    arrivals = []
    tokens, pending = 0, b""
    while True:
        data = connection.recv(65536)
        if not data:
            break
        now = time.perf_counter()
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.startswith(b'data: {"choices":[{"delta":{"content":') or b'"content":"' in line and b'"delta"' in line:
                if b'"content":""' in line:
                    continue
                arrivals.append(now)
            elif line.startswith(b"data: ") and b'"usage":{' in line:
                tokens = json.loads(line[6:])["usage"]["completion_tokens"]
        if b"data: [DONE]" in data or pending.endswith(b"data: [DONE]"):
            break
    connection.close()
    results[index] = (arrivals, tokens)


def round_of(count):
    results = [None] * count
    threads = [threading.Thread(target=stream, args=(results, i)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


round_of(max(counts))  # warm-up: the KV caches' pages are touched for the first time here
for count in counts:
    best_single, best_aggregate = 0.0, 0.0
    for _ in range(repeats):
        results = round_of(count)
        rates = [(len(times) - 1) / (times[-1] - times[0]) for times, _ in results if len(times) > 1]
        start, end = max(times[0] for times, _ in results), min(times[-1] for times, _ in results)
        inside = sum(sum(1 for t in times if start <= t <= end) for times, _ in results)
        best_single = max(best_single, min(rates) if rates else 0)
        if end > start:
            best_aggregate = max(best_aggregate, (inside - count) / (end - start))
    tokens_each = [tokens for _, tokens in results]
    print(f"visioncraft_api streams={count} slowest_stream_tokens_per_s={best_single:.1f} "
          f"aggregate_decode_tokens_per_s={best_aggregate:.1f} completion_tokens={tokens_each}")
