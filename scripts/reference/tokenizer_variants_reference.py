"""Writes golden token ids for the pre-tokenizers of Llama 3 (`llama-bpe`) and Qwen2 (`qwen2`) and
for SentencePiece vocabularies (Llama 2, TinyLlama, Mistral), using llama.cpp itself. There is no
such model on a machine without internet, so vocabulary-only GGUF files are made (the `gguf`
package) and llama.cpp tokenizes with them: the default model's vocabulary and merges under those
pre-tokenizers, and a SentencePiece vocabulary built from the default model's tokens (spaces as
`▁`, byte tokens, scores by id). The tests build the same tokenizers; the SentencePiece vocabulary
is written into the output for them.

    python3 scripts/reference/tokenizer_variants_reference.py data/models/SmolLM2-135M-Instruct.Q4_1.gguf \
        Tests/LLMEngineTests/Reference/tokenizer-variants-reference.json
"""
import importlib.metadata
import json
import os
import sys
import tempfile

import gguf
from llama_cpp import Llama

sys.path.insert(0, os.path.dirname(__file__))
from llama_reference import TEXTS  # noqa: E402  (the shared text set)

model_path, out_path = sys.argv[1], sys.argv[2]
source = gguf.GGUFReader(model_path)

EXTRA = [
    "(hello) [world] {x} <tag>value</tag> \"quoted\" 'single'",
    "IT'S DON'T WE'VE THEY'LL SHE'D I'M YOU'RE",
    "123456789 and 1234567 and 12 and 1",
    "line\n\n  indented\n\t\ttabs\r\n\r\n  crlf  \n",
    "hello!!!\n\nworld...\n  --  >>> ???",
    " \t\nfoo  \r\n\r\n bar   ",
    "x=1;y=22;z=333;w=4444",
]


def write_variant(path, pre, spm=None):
    writer = gguf.GGUFWriter(path, "llama")
    for name, field in source.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        if spm is not None and name.startswith("tokenizer."):
            continue
        kind = field.types[0]
        if name == "tokenizer.ggml.pre":
            writer.add_string(name, pre)
        elif kind == gguf.GGUFValueType.ARRAY:
            if field.types[1] == gguf.GGUFValueType.STRING:
                writer.add_array(name, [bytes(field.parts[i]).decode("utf-8", errors="surrogateescape") for i in field.data])
            else:
                writer.add_array(name, [field.parts[i][0].item() for i in field.data])
        elif kind == gguf.GGUFValueType.STRING:
            writer.add_string(name, bytes(field.parts[field.data[0]]).decode())
        else:
            writer.add_key_value(name, field.parts[field.data[0]][0].item(), kind)
    if spm is not None:
        writer.add_string("tokenizer.ggml.model", "llama")
        writer.add_array("tokenizer.ggml.tokens", spm["tokens"])
        writer.add_array("tokenizer.ggml.scores", spm["scores"])
        writer.add_array("tokenizer.ggml.token_type", spm["types"])
        writer.add_uint32("tokenizer.ggml.unknown_token_id", 0)
        writer.add_uint32("tokenizer.ggml.bos_token_id", 1)
        writer.add_uint32("tokenizer.ggml.eos_token_id", 2)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def sentencepiece_vocabulary(size=6000):
    """<unk>, <s>, </s>, the 256 byte tokens, then the default model's ordinary tokens as text
    with spaces as ▁, scored so that lower ids merge first."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:] + [256 + n for n in range(256 - len(printable))]
    byte_of = {chr(c): b for b, c in zip(printable + [b for b in range(256) if b not in printable], codes)}
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    field = source.fields["tokenizer.ggml.tokens"]
    kinds = source.fields["tokenizer.ggml.token_type"]
    seen = set(tokens)
    for index, part in enumerate(field.data):
        if kinds.parts[kinds.data[index]][0] != 1:
            continue
        try:
            text = bytes(byte_of[c] for c in bytes(field.parts[part]).decode("utf-8")).decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            continue
        piece = text.replace(" ", "\u2581")
        if piece and piece not in seen:
            seen.add(piece)
            tokens.append(piece)
            types.append(1)
        if len(tokens) >= size:
            break
    scores = [0.0] * 259 + [-float(i) for i in range(len(tokens) - 259)]
    return {"tokens": tokens, "scores": scores, "types": types}


variants = []
with tempfile.TemporaryDirectory() as directory:
    for pre in ("llama-bpe", "qwen2"):
        path = os.path.join(directory, f"{pre}.gguf")
        write_variant(path, pre)
        llm = Llama(model_path=path, vocab_only=True, verbose=False)
        cases = [{"text": text, "ids": llm.tokenize(text.encode(), add_bos=False, special=False)} for text in TEXTS + EXTRA]
        variants.append({"pre": pre, "cases": cases})
        del llm
    spm = sentencepiece_vocabulary()
    path = os.path.join(directory, "spm.gguf")
    write_variant(path, "default", spm)
    llm = Llama(model_path=path, vocab_only=True, verbose=False)
    cases = [{"text": text, "ids": llm.tokenize(text.encode(), add_bos=False, special=False)} for text in TEXTS + EXTRA]
    special = "<s>Hello</s> world<s>"
    cases.append({"text": special, "special": True, "ids": llm.tokenize(special.encode(), add_bos=False, special=True)})
    variants.append({"pre": "sentencepiece", "cases": cases, "vocabulary": spm})
    del llm

with open(out_path, "w") as out:
    json.dump({"generator": f"llama-cpp-python {importlib.metadata.version('llama-cpp-python')}, "
                            f"gguf {importlib.metadata.version('gguf')}",
               "variants": variants}, out, indent=1, ensure_ascii=False)
    out.write("\n")
print(f"wrote {sum(len(v['cases']) for v in variants)} cases to {out_path}")
