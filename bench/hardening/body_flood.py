"""`make bench-hardening`'s attack: 48 clients at once each send a 19 MB body with no key in the
header (the key-in-body form, with a key that does not exist) while the server's resident memory
is sampled from /proc every 5 ms. Prints the memory before, at the peak and after, and how the
requests were answered."""
import collections
import socket
import sys
import threading
import time

port, pid = int(sys.argv[1]), int(sys.argv[2])
CLIENTS, SIZE = 48, 19 * 1024 * 1024


def rss_mb():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


body = (b'{"model":"x","token":"vc_not_a_key","messages":[{"role":"user","content":"'
        + b"a" * (SIZE - 100) + b'"}]}')
head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n").encode()
statuses = collections.Counter()


def attack():
    connection = socket.create_connection(("127.0.0.1", port))
    try:
        connection.sendall(head)
        view = memoryview(body)
        for start in range(0, len(body), 1 << 20):
            connection.sendall(view[start:start + (1 << 20)])
    except OSError:
        pass  # the server answered early and closed: the rest of the body was never wanted
    try:
        reply = connection.recv(64)
        statuses[reply.split(b" ")[1].decode() if reply.count(b" ") else "closed"] += 1
    except OSError:
        statuses["reset"] += 1
    connection.close()


before = rss_mb()
peak, done = before, threading.Event()


def sample():
    global peak
    while not done.is_set():
        peak = max(peak, rss_mb())
        time.sleep(0.005)


sampler = threading.Thread(target=sample)
sampler.start()
clients = [threading.Thread(target=attack) for _ in range(CLIENTS)]
started = time.perf_counter()
for client in clients:
    client.start()
for client in clients:
    client.join()
elapsed = time.perf_counter() - started
time.sleep(0.5)
done.set()
sampler.join()
print(f"visioncraft attack clients={CLIENTS} body_mb={SIZE / 1048576:.0f} seconds={elapsed:.1f} "
      f"rss_before_mb={before:.0f} rss_peak_mb={peak:.0f} added_mb={peak - before:.0f} "
      f"rss_after_mb={rss_mb():.0f} answers={dict(statuses)}")
