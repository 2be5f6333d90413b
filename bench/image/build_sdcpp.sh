#!/usr/bin/env bash
# stable-diffusion.cpp's command-line program and server, from the copy vendored in the PyPI sdist
# stable-diffusion-cpp-python 0.4.7 (this machine reaches PyPI, not GitHub), built once into
# .build/sdcpp/ for this CPU (GGML_NATIVE) without the WebP/WebM writers it does not need here.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=.build/sdcpp
[ -x "$OUT/sd-cli" ] && [ -x "$OUT/sd-server" ] && exit 0
command -v cmake >/dev/null || python3 -m pip install --quiet --disable-pip-version-check cmake
mkdir -p "$OUT"
[ -f "$OUT/sdist.tar.gz" ] || {
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary stable-diffusion-cpp-python \
    stable-diffusion-cpp-python==0.4.7 -d "$OUT"
  mv "$OUT"/stable_diffusion_cpp_python-0.4.7.tar.gz "$OUT/sdist.tar.gz"
}
rm -rf "$OUT/src" && mkdir "$OUT/src" && tar xzf "$OUT/sdist.tar.gz" -C "$OUT/src" --strip-components=1
SRC="$OUT/src/vendor/stable-diffusion.cpp"
cmake -S "$SRC" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release -DSD_WEBP=OFF -DSD_WEBM=OFF -DGGML_NATIVE=ON >"$OUT/build.log" 2>&1
cmake --build "$OUT/build" -j "$(nproc)" --target sd-cli >>"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
cmake --build "$OUT/build" -j "$(nproc)" --target sd-server >>"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
cp "$OUT/build/bin/sd-cli" "$OUT/build/bin/sd-server" "$OUT/"
