"""Writes tiny random-weight models and llama.cpp's logits for them, to check what the default
model does not exercise: Qwen2 (biases on Q, K and V, RoPE over half-head pairs), a Llama 2-style
file with a SentencePiece vocabulary, untied output and Q4_0 weights, the same architecture with
Q5_0 and Q5_1 weights (the types Q4_K_M files fall back to for matrices whose rows are not a
multiple of 256 values, such as most of SmolLM2's and Qwen2.5's), Phi-3 (Q, K and V in one matrix,
the gate and up in one, queries scaled before attention), Qwen 3 (per-head Q/K norms,
heads wider than the embedding's share) and Gemma 3 (those too, post-norms, GELU, the embedding
scale, and six layers of which five attend over a sliding window of 4 positions with their own
RoPE base). Weights are
seeded, so the files are reproducible; llama.cpp (llama-cpp-python, one token per batch) gives the
logits of every position of a fixed token sequence.

    python3 scripts/reference/tiny_model_reference.py Tests/LLMEngineTests/Reference
"""
import importlib.metadata
import json
import os
import sys

import gguf
import numpy as np
from gguf import quants
from llama_cpp import Llama

DIM, LAYERS, HEADS, KV_HEADS, FF, CONTEXT = 64, 2, 4, 2, 128, 128
TOKENS = [1, 300, 301, 302, 5, 310, 311, 40, 41, 42, 300, 305]


def vocabulary():
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    words = ["\u2581" + w for w in "the of and to in is it you that he was for on are with as his they be at one have this from or had by".split()]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    for piece in letters + words + ["\u2581" + c for c in letters]:
        tokens.append(piece)
        types.append(1)
    scores = [0.0] * 259 + [-float(i) for i in range(len(tokens) - 259)]
    return tokens, scores, types


# Qwen 3 and Gemma 3 heads: 32 values each, four of them twice the embedding's 64.
WIDE_HEAD = 32
GEMMA_LAYERS, GEMMA_WINDOW = 6, 4


def start_file(path, arch, dim, layers, ff, heads, kv_heads, context):
    """A GGUF writer with a tiny model's shape and the tiny SentencePiece vocabulary written."""
    tokens, scores, types = vocabulary()
    writer = gguf.GGUFWriter(path, arch)
    writer.add_context_length(context)
    writer.add_embedding_length(dim)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    return writer, tokens


def write(path, arch, rng, weight_type, tied, biases):
    layers = GEMMA_LAYERS if arch == "gemma3" else LAYERS
    writer, tokens = start_file(path, arch, DIM, layers, FF, HEADS, KV_HEADS, CONTEXT)
    head = WIDE_HEAD if arch in ("qwen3", "gemma3") else DIM // HEADS
    if arch in ("qwen3", "gemma3"):
        writer.add_key_length(head)
        writer.add_value_length(head)
    if arch == "gemma3":
        writer.add_sliding_window(GEMMA_WINDOW)

    def tensor(name, rows, columns, kind, scale):
        kind = kind(name) if callable(kind) else kind
        data = (rng.standard_normal((rows, columns)) * scale).astype(np.float32)
        if kind == gguf.GGMLQuantizationType.F32:
            writer.add_tensor(name, data)
        else:
            writer.add_tensor(name, quants.quantize(data, kind), raw_dtype=kind)

    def norm(name, size):
        writer.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(size)).astype(np.float32))

    q8 = gguf.GGMLQuantizationType.Q8_0
    tensor("token_embd.weight", len(tokens), DIM, q8, 1.0)
    norm("output_norm.weight", DIM)
    if not tied:
        tensor("output.weight", len(tokens), DIM, weight_type, 0.2)
    for layer in range(layers):
        prefix = f"blk.{layer}."
        norm(prefix + "attn_norm.weight", DIM)
        if arch == "phi3":
            tensor(prefix + "attn_qkv.weight", (HEADS + 2 * KV_HEADS) * head, DIM, weight_type, 0.15)
        else:
            tensor(prefix + "attn_q.weight", HEADS * head, DIM, weight_type, 0.15)
        if arch in ("qwen3", "gemma3"):
            norm(prefix + "attn_q_norm.weight", head)
            norm(prefix + "attn_k_norm.weight", head)
        if arch == "gemma3":
            norm(prefix + "post_attention_norm.weight", DIM)
            norm(prefix + "post_ffw_norm.weight", DIM)
        if arch != "phi3":
            tensor(prefix + "attn_k.weight", KV_HEADS * head, DIM, weight_type, 0.15)
            tensor(prefix + "attn_v.weight", KV_HEADS * head, DIM, weight_type, 0.15)
        if biases:
            for name, size in (("attn_q", DIM), ("attn_k", KV_HEADS * head), ("attn_v", KV_HEADS * head)):
                writer.add_tensor(prefix + name + ".bias", (0.1 * rng.standard_normal(size)).astype(np.float32))
        tensor(prefix + "attn_output.weight", DIM, HEADS * head, weight_type, 0.15)
        norm(prefix + "ffn_norm.weight", DIM)
        if arch == "phi3":
            tensor(prefix + "ffn_up.weight", 2 * FF, DIM, weight_type, 0.15)  # the gate's rows, then up's
        else:
            tensor(prefix + "ffn_gate.weight", FF, DIM, weight_type, 0.15)
            tensor(prefix + "ffn_up.weight", FF, DIM, weight_type, 0.15)
        tensor(prefix + "ffn_down.weight", DIM, FF, weight_type, 0.1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def five_bit(name):
    """Q5_0 for the matrices read first, Q5_1 for the output side, as in llama.cpp's fallbacks."""
    second = any(part in name for part in ("attn_output", "ffn_down", "output.weight"))
    return gguf.GGMLQuantizationType.Q5_1 if second else gguf.GGMLQuantizationType.Q5_0


def main(out_dir):
    models = [
        ("tiny-qwen2.gguf", "qwen2", gguf.GGMLQuantizationType.Q4_1, True, True, 1),
        ("tiny-llama.gguf", "llama", gguf.GGMLQuantizationType.Q4_0, False, False, 2),
        ("tiny-llama-q5.gguf", "llama", five_bit, False, False, 3),
        ("tiny-qwen3.gguf", "qwen3", gguf.GGMLQuantizationType.Q8_0, True, False, 4),
        ("tiny-gemma3.gguf", "gemma3", gguf.GGMLQuantizationType.Q8_0, True, False, 5),
        ("tiny-phi3.gguf", "phi3", gguf.GGMLQuantizationType.Q8_0, False, False, 6),
    ]
    reference = {"generator": f"llama-cpp-python {importlib.metadata.version('llama-cpp-python')}, "
                              f"gguf {importlib.metadata.version('gguf')}", "tokens": TOKENS, "models": []}
    for file, arch, kind, tied, biases, seed in models:
        path = os.path.join(out_dir, file)
        write(path, arch, np.random.default_rng(seed), kind, tied, biases)
        llm = Llama(model_path=path, n_ctx=CONTEXT, n_threads=2, n_batch=1, n_ubatch=1, logits_all=True, verbose=False)
        llm.eval(TOKENS)
        logits = [[float(v) for v in llm.scores[i]] for i in range(len(TOKENS))]
        reference["models"].append({"file": file, "architecture": arch, "logits": logits})
        del llm

    with open(os.path.join(out_dir, "tiny-models-reference.json"), "w") as out:
        json.dump(reference, out)
        out.write("\n")
    print("wrote", [m[0] for m in models])


if __name__ == "__main__":
    main(sys.argv[1])
