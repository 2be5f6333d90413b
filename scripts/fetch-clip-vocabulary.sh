#!/usr/bin/env bash
# The CLIP BPE vocabulary Stable Diffusion's text encoders were trained with. Checkpoints do not
# carry it; the PyPI wheel of open-clip-torch does. Checksum-verified, written decompressed.
set -euo pipefail
dest=${1:?usage: fetch-clip-vocabulary.sh MODELS_DIR}
exec bash "$(dirname "$0")/fetch-from-wheel.sh" open-clip-torch==3.3.0 open_clip_torch-3.3.0-py3-none-any.whl \
    c549ad5ed6bfc119cc11105033c0a2b9d7a2a4afeb40a58a09aab3da1a0043ce \
    open_clip/bpe_simple_vocab_16e6.txt.gz "$dest/clip/bpe_simple_vocab_16e6.txt"
