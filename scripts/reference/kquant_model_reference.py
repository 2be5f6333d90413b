"""Writes tiny random-weight Llama files in the K-quant and IQ4 types, quantized by llama.cpp
itself (llama_model_quantize, as `llama-quantize` does) from a float file written here, and
llama.cpp's logits for each: what Q4_K_M-style files from a model hub hold, type for type. One
layer of width 256 (K-quant blocks are 256 values), seeded weights, reproducible files.

    python3 scripts/reference/kquant_model_reference.py Tests/LLMEngineTests/Reference
"""
import ctypes
import importlib.metadata
import json
import os
import sys
import tempfile

import gguf
import llama_cpp
import numpy as np
from llama_cpp import Llama

sys.path.insert(0, os.path.dirname(__file__))
from tiny_model_reference import TOKENS, start_file  # noqa: E402  (same vocabulary and tokens)

out_dir = sys.argv[1]
DIM, HEADS, KV_HEADS, FF, CONTEXT = 256, 4, 2, 256, 128
FTYPES = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS"]
# The output matrix (338 rows, the vocabulary: not a multiple of 8, so llama.cpp does not repack it)
# in the file's own type where llama.cpp repacks that type's other matrices: its other sum is
# checked too.
OUTPUT_TYPES = {"Q2_K": gguf.GGMLQuantizationType.Q2_K, "Q4_K_M": gguf.GGMLQuantizationType.Q4_K,
                "IQ4_NL": gguf.GGMLQuantizationType.IQ4_NL}


def write_float_model(path, rng):
    writer, tokens = start_file(path, "llama", DIM, 1, FF, HEADS, KV_HEADS, CONTEXT)

    def matrix(name, rows, columns, scale):
        writer.add_tensor(name, (rng.standard_normal((rows, columns)) * scale).astype(np.float32))

    def norm(name):
        writer.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(DIM)).astype(np.float32))

    head = DIM // HEADS
    matrix("token_embd.weight", len(tokens), DIM, 1.0)
    norm("output_norm.weight")
    matrix("output.weight", len(tokens), DIM, 0.1)
    norm("blk.0.attn_norm.weight")
    matrix("blk.0.attn_q.weight", DIM, DIM, 0.08)
    matrix("blk.0.attn_k.weight", KV_HEADS * head, DIM, 0.08)
    matrix("blk.0.attn_v.weight", KV_HEADS * head, DIM, 0.08)
    matrix("blk.0.attn_output.weight", DIM, DIM, 0.08)
    norm("blk.0.ffn_norm.weight")
    matrix("blk.0.ffn_gate.weight", FF, DIM, 0.08)
    matrix("blk.0.ffn_up.weight", FF, DIM, 0.08)
    matrix("blk.0.ffn_down.weight", DIM, FF, 0.08)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


reference = {"generator": f"scripts/reference/kquant_model_reference.py with llama-cpp-python "
                          f"{importlib.metadata.version('llama-cpp-python')}, gguf {importlib.metadata.version('gguf')}",
             "tokens": TOKENS, "models": []}
with tempfile.TemporaryDirectory() as work:
    source = os.path.join(work, "tiny-f32.gguf")
    write_float_model(source, np.random.default_rng(11))
    for ftype in FTYPES:
        file = f"tiny-llama-{ftype.lower().replace('_', '-')}.gguf"
        path = os.path.join(out_dir, file)
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{ftype}")
        params.nthread = 2
        if ftype in OUTPUT_TYPES:
            params.output_tensor_type = int(OUTPUT_TYPES[ftype])
        assert llama_cpp.llama_model_quantize(source.encode(), path.encode(), ctypes.byref(params)) == 0, ftype
        llm = Llama(model_path=path, n_ctx=CONTEXT, n_threads=2, n_batch=1, n_ubatch=1, logits_all=True, verbose=False)
        llm.eval(TOKENS)
        types = sorted({t.tensor_type.name for t in gguf.GGUFReader(path).tensors})
        reference["models"].append({"file": file, "ftype": ftype, "tensor_types": types,
                                    "logits": [[float(v) for v in llm.scores[i]] for i in range(len(TOKENS))]})
        del llm

with open(os.path.join(out_dir, "kquant-models-reference.json"), "w") as out:
    json.dump(reference, out)
    out.write("\n")
print("wrote", [m["file"] for m in reference["models"]])
