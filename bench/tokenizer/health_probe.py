"""The server side of `make bench-tokenizer`: while the largest bodies the server accepts go to the
embedded model (English words, and one single word), a second process asks for /health back to
back on its own connection. Prints the probe's latencies during each body's handling, and what the
body got. The probe is a process of its own so that the sender's work never delays it."""
import http.client
import json
import multiprocessing
import sys
import time

port, key, model, max_body = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])


def body_of(text, size=max_body):
    prefix = '{"model":"%s","max_tokens":128,"messages":[{"role":"user","content":"' % model
    suffix = '"}]}'
    room = size - len(prefix) - len(suffix) - 64
    return (prefix + (text * (room // len(text) + 1))[:room] + suffix).encode()


def probe(stop, window, results):
    """Probes every 5 ms until `stop` (as a load balancer's checks would, without taking a core
    from the server); keeps the latencies of probes sent while `window` is set."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    latencies = []
    while not stop.is_set():
        inside = window.is_set()
        started = time.perf_counter()
        connection.request("GET", "/health")
        connection.getresponse().read()
        if inside:
            latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.005)
    results.put(latencies)


fox = "The quick brown fox jumps over the lazy dog. "
# The largest bodies (refused: their length alone shows they cannot fit the context), then a
# prompt that does fit, tokenized whole and then computed by the engine.
for name, payload in [("english", body_of(fox)), ("single_word", body_of("a")), ("fits_context", body_of(fox, 7000))]:
    stop, window, results = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Queue()
    prober = multiprocessing.Process(target=probe, args=(stop, window, results))
    prober.start()
    time.sleep(0.2)  # the probe under way first
    window.set()
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("POST", "/v1/chat/completions", payload,
                       {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    response = connection.getresponse()
    answer = json.loads(response.read())
    elapsed = (time.perf_counter() - started) * 1000
    window.clear()
    stop.set()
    during = sorted(results.get()) or [float("nan")]
    prober.join()
    print(f"visioncraft body={name} bytes={len(payload)} status={response.status} answered_ms={elapsed:.0f} "
          f"health_probes={len(during)} health_p50_ms={during[len(during) // 2]:.2f} "
          f"health_max_ms={during[-1]:.2f} error_code={answer.get('error', {}).get('code')}")
