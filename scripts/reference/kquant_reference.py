"""Writes golden values for the K-quant and IQ4 dequantizers with gguf-py's reference
implementation: for each type, a few seeded pseudo-random blocks (their scale fields set to
ordinary half-precision numbers, so no block is NaN or infinite) and the floats gguf-py turns
them into.

    python3 scripts/reference/kquant_reference.py Tests/LLMEngineTests/Reference/kquant-reference.json
"""
import importlib.metadata
import json
import sys

import numpy as np
from gguf import GGMLQuantizationType as T, quants

# (type, bytes per block, byte offsets of half-precision scale fields)
TYPES = [
    (T.Q2_K, 84, [80, 82]),
    (T.Q3_K, 110, [108]),
    (T.Q4_K, 144, [0, 2]),
    (T.Q5_K, 176, [0, 2]),
    (T.Q6_K, 210, [208]),
    (T.IQ4_NL, 18, [0]),
    (T.IQ4_XS, 136, [0]),
]
BLOCKS = 3

rng = np.random.default_rng(2026)
cases = []
for kind, size, halves in TYPES:
    raw = rng.integers(0, 256, size=(BLOCKS, size), dtype=np.uint8)
    for offset in halves:
        raw[:, offset:offset + 2] = np.frombuffer(
            rng.uniform(1e-3, 2e-2, BLOCKS).astype(np.float16).tobytes(), dtype=np.uint8).reshape(BLOCKS, 2)
    values = quants.dequantize(raw.reshape(-1), kind).reshape(-1)
    cases.append({"type": kind.name, "type_id": int(kind), "bytes": raw.reshape(-1).tobytes().hex(),
                  "values": [float(v) for v in values]})

with open(sys.argv[1], "w") as out:
    json.dump({"generator": f"scripts/reference/kquant_reference.py with gguf {importlib.metadata.version('gguf')}",
               "cases": cases}, out)
    out.write("\n")
