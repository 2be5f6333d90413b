"""Writes the golden values the engine's GGUF tests compare against, using llama.cpp's `gguf`
Python package as the reference implementation.

    python3 -m pip install -r scripts/reference/requirements.txt
    python3 scripts/reference/gguf_reference.py data/models/SmolLM2-135M-Instruct.Q4_1.gguf \
        Tests/LLMEngineTests/Reference/gguf-reference.json

Two parts: what the reference reads from the default model file (metadata, every tensor's name,
type, shape and offset, and dequantized samples of one tensor per type), and for every tensor type
the engine supports, seeded random blocks with the values the reference dequantizes them to.
"""
import base64
import importlib.metadata
import json
import sys

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import GGUFReader

model_path, out_path = sys.argv[1], sys.argv[2]
reader = GGUFReader(model_path)

SCALAR_KEYS = [
    "general.architecture", "general.name", "general.alignment", "general.file_type", "general.quantization_version",
    "llama.block_count", "llama.context_length", "llama.embedding_length", "llama.feed_forward_length",
    "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.freq_base",
    "llama.attention.layer_norm_rms_epsilon", "llama.vocab_size", "llama.rope.dimension_count",
    "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token",
    "tokenizer.ggml.add_space_prefix", "tokenizer.chat_template",
]


def plain(value):
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    return value


metadata = {}
for key in SCALAR_KEYS:
    field = reader.fields.get(key)
    if field is not None:
        metadata[key] = plain(field.contents())

arrays = {}
for key in ["tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"]:
    values = reader.fields[key].contents()
    arrays[key] = {"count": len(values), "first": [plain(v) for v in values[:8]], "last": [plain(v) for v in values[-8:]]}

tensors = [
    {"name": t.name, "type": int(t.tensor_type), "dims": [int(d) for d in t.shape], "offset": int(t.data_offset)}
    for t in reader.tensors
]

samples = {}
for name in ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_norm.weight", "blk.29.ffn_down.weight"]:
    tensor = next(t for t in reader.tensors if t.name == name)
    values = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32).reshape(-1)
    samples[name] = {
        "first": [float(v) for v in values[:32]],
        "row1000": [float(v) for v in values[1000 * int(tensor.shape[0]):1000 * int(tensor.shape[0]) + 16]]
        if tensor.shape.size > 1 and tensor.shape[1] > 1000 else [],
        "sum": float(values.astype(np.float64).sum()),
    }

rng = np.random.default_rng(2026)


def f16_bytes(values):
    return np.asarray(values, dtype=np.float16).tobytes()


def random_blocks(qtype, count):
    """Random blocks whose scale fields hold ordinary half floats, so every value is finite."""
    block_elements, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    if qtype == Q.F32:
        return rng.uniform(-2, 2, size=count * block_elements).astype(np.float32).tobytes()
    if qtype == Q.F16:
        return f16_bytes(rng.uniform(-2, 2, size=count * block_elements))
    blocks = bytearray(rng.integers(0, 256, size=count * block_bytes, dtype=np.uint8).tobytes())
    for index in range(count):
        start = index * block_bytes
        if qtype in (Q.Q4_0, Q.Q8_0, Q.Q5_0):
            blocks[start:start + 2] = f16_bytes([rng.uniform(-0.05, 0.05)])
        elif qtype in (Q.Q4_1, Q.Q5_1):
            blocks[start:start + 4] = f16_bytes([rng.uniform(0.001, 0.05), rng.uniform(-0.4, 0.0)])
        elif qtype == Q.Q4_K:
            blocks[start:start + 4] = f16_bytes([rng.uniform(0.0001, 0.005), rng.uniform(0.0001, 0.005)])
        elif qtype == Q.Q6_K:
            blocks[start + 208:start + 210] = f16_bytes([rng.uniform(-0.002, 0.002)])
    return bytes(blocks)


blocks = {}
# Q5_0 and Q5_1 last, so the earlier types' seeded blocks stay as they were.
for qtype in [Q.F32, Q.F16, Q.Q4_0, Q.Q4_1, Q.Q8_0, Q.Q4_K, Q.Q6_K, Q.Q5_0, Q.Q5_1]:
    block_elements, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    count = 64 if block_elements == 1 else 3
    raw = random_blocks(qtype, count)
    if qtype == Q.F32:
        array = np.frombuffer(raw, dtype=np.float32)
    elif qtype == Q.F16:
        array = np.frombuffer(raw, dtype=np.float16)
    else:
        array = np.frombuffer(raw, dtype=np.uint8).reshape(1, -1)
    values = gguf.quants.dequantize(array, qtype).astype(np.float32).reshape(-1)
    assert values.size == count * block_elements and np.all(np.isfinite(values))
    blocks[qtype.name] = {
        "type": int(qtype), "block_elements": block_elements, "block_bytes": block_bytes,
        "bytes_base64": base64.b64encode(raw).decode(), "values": [float(v) for v in values],
    }

reference = {
    "generator": f"scripts/reference/gguf_reference.py with gguf {importlib.metadata.version('gguf')}",
    "model": {
        "file": model_path.split("/")[-1],
        "version": int(reader.fields["GGUF.version"].contents()),
        "tensor_count": len(reader.tensors),
        "kv_count": int(reader.fields["GGUF.kv_count"].contents()),
        "data_offset": int(reader.data_offset),
        "metadata": metadata,
        "arrays": arrays,
        "tensors": tensors,
        "samples": samples,
    },
    "blocks": blocks,
}
with open(out_path, "w") as out:
    json.dump(reference, out, indent=1, ensure_ascii=False)
    out.write("\n")
