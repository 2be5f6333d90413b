"""Writes the tokenizer golden values the engine's tests compare against, using llama.cpp itself
(through llama-cpp-python) as the reference implementation.

    python3 -m pip install llama-cpp-python==0.3.36   # builds llama.cpp from the sdist
    python3 scripts/reference/llama_reference.py data/models/SmolLM2-135M-Instruct.Q4_1.gguf \
        Tests/LLMEngineTests/Reference/tokenizer-reference.json
"""
import importlib.metadata
import json
import random
import sys

from llama_cpp import Llama

TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i * i); }",
    "Numbers: 3.14159, 42, 1,000,000 and 2024-11-25 at 12:30:45; -17e-3.",
    "Emoji 🦊🚀👩‍👩‍👧 and flags 🇫🇷🇯🇵 and a heart ❤️.",
    "Русский текст, 中文文本, 日本語のテキスト, 한국어 텍스트, العربية, हिन्दी, ελληνικά.",
    "Whitespace:  two   three    four\t\ttabs\n\nnewlines\r\nwindows   \n  trailing   ",
    "Contractions: don't, I'm, we've, they'll, she'd, it's, you're, O'Neil's.",
    "CamelCaseIdentifiers and snake_case_names and SCREAMING_CASE.",
    "   leading spaces",
    "<|im_start|>user\nHi<|im_end|> written as plain text",
    "Ünïcödé àccents: naïve café résumé Zürich façade.",
    "",
    " ",
    "a",
    "https://example.com/path?query=value&other=1#fragment",
    "Math: ∑_{i=1}^{n} i² = n(n+1)/2, √2 ≈ 1.414, π > 3.",
]

# Long single words and long runs: the merge loop's worst cases, where the order in which equal
# ranks are merged shows.
_rng = random.Random(11)
TEXTS += [
    "a" * 3000,
    "".join(_rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3000)),
    "ab" * 1500 + " " + "abc" * 1000,
    "x" + "=" * 2000 + "\n" + " " * 500 + "end",
    "長い単語" * 300,
    " ".join(["The tokenizer must give the same ids whatever the length of the text."] * 40),
]

CHAT = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"



def main():
    model_path, out_path = sys.argv[1], sys.argv[2]
    llm = Llama(model_path=model_path, vocab_only=True, verbose=False)
    cases = []
    for text in TEXTS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        decoded = llm.detokenize(ids).decode("utf-8", errors="replace")
        case = {"text": text, "special": False, "ids": ids}
        # llama-cpp-python's detokenize cuts pieces longer than its 32-byte buffer (a run of 64
        # '='), so only a round trip is a reference for decoding.
        if decoded == text or len(text) < 100:
            case["decoded"] = decoded
        cases.append(case)
    ids = llm.tokenize(CHAT.encode("utf-8"), add_bos=False, special=True)
    cases.append({"text": CHAT, "special": True, "ids": ids})

    with open(out_path, "w") as out:
        json.dump({
            "generator": f"scripts/reference/llama_reference.py with llama-cpp-python {importlib.metadata.version('llama-cpp-python')}",
            "cases": cases,
        }, out, indent=1, ensure_ascii=False)
        out.write("\n")


if __name__ == "__main__":
    main()
