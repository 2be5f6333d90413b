"""make bench-replicas' burst: 1,000 chat requests at once, spread round-robin over the replicas,
from keys with known limits; prints per limit how many got through against how many should.

usage: burst.py KEYS_FILE URL [URL ...]   (KEYS_FILE: lines "kind key allowed")"""
import asyncio
import sys

import httpx

BODY = {"model": "bench-model", "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 128}


async def main():
    keys = [line.split() for line in open(sys.argv[1]) if line.strip()]
    urls = sys.argv[2:]
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        async def one(i):
            kind, key, _ = keys[i % len(keys)]
            response = await client.post(f"{urls[i % len(urls)]}/v1/chat/completions", json=BODY,
                                         headers={"Authorization": f"Bearer {key}"})
            return key, response.status_code

        results = await asyncio.gather(*(one(i) for i in range(1000)))
    through = {}
    statuses = {}
    for key, status in results:
        through[key] = through.get(key, 0) + (status == 200)
        statuses[status] = statuses.get(status, 0) + 1
    total_through = sum(through.values())
    total_allowed = sum(int(allowed) for _, _, allowed in keys)
    for kind in sorted({kind for kind, _, _ in keys}):
        got = sum(through.get(key, 0) for k, key, _ in keys if k == kind)
        should = sum(int(allowed) for k, _, allowed in keys if k == kind)
        print(f"burst {kind}: {got} through, {should} allowed")
    print(f"burst total: {total_through} through of 1000, {total_allowed} allowed; statuses {dict(sorted(statuses.items()))}")
    print("burst exact: " + ("yes" if total_through == total_allowed else "NO"))


asyncio.run(main())
