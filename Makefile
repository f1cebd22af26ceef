# embedtune: the commands a user types. `make demo` and `make test` are all a fresh machine needs;
# each target runs the set-up it depends on (scripts/setup.sh is quick when all is in place).
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
CUDA_BUILD ?= build-cuda
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
FUZZ_CXX ?= clang++-14
PY := .venv/bin/python
export CCACHE_DIR ?= $(CURDIR)/.ccache
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: setup fuzz-setup build build-asan build-fuzz build-cuda check-cuda check-libtorch check-cpus fuzz test test-fast bench demo clean format

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja: CMakeLists.txt tests/CMakeLists.txt | setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_PREFIX_PATH="$$($(PY) -c 'import torch; print(torch.utils.cmake_prefix_path)')" \
	  -DEMBEDTUNE_PYTHON=$(CURDIR)/$(PY) \
	  -DEMBEDTUNE_DEFAULT_MODEL="$$($(PY) scripts/default_model.py)"

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/build.ninja: CMakeLists.txt tests/CMakeLists.txt | setup
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEMBEDTUNE_SANITIZE=ON \
	  -DEMBEDTUNE_TESTDATA=$(CURDIR)/$(BUILD)/testdata \
	  -DEMBEDTUNE_PYTHON=$(CURDIR)/$(PY) \
	  -DEMBEDTUNE_DEFAULT_MODEL="$$($(PY) scripts/default_model.py)"

build-asan: setup $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# The CUDA build: the same sources against a CUDA LibTorch (torch 2.14.1's wheel in .venv-cuda,
# made by scripts/setup-cuda.sh with the CUDA toolkit at CUDA_HOME or /usr/local/cuda). It builds
# and links on a machine without a GPU; `make check-cuda` does that and runs `embedtune --version`
# (which loads the CUDA libraries, then reports no device). Tests stay with the CPU build.
build-cuda: setup
	@args="$$(bash scripts/setup-cuda.sh)" && \
	cmake -S . -B $(CUDA_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMBEDTUNE_TESTS=OFF $$args
	cmake --build $(CUDA_BUILD) -j $(JOBS) --target embedtune

check-cuda: build-cuda
	@ldd $(CUDA_BUILD)/embedtune | grep -q 'libtorch_cuda' || \
	  { echo "check-cuda: $(CUDA_BUILD)/embedtune does not link libtorch_cuda"; exit 1; }
	./$(CUDA_BUILD)/embedtune --version

# Every source compiled (-fsyntax-only) against the headers of other CUDA torch releases' LibTorch
# (PyPI wheels, headers only, cached in .libtorch-check/): the API from 2.4 on, without linking.
LIBTORCH_VERSIONS ?= 2.4.0 2.11.0
check-libtorch: setup
	python3 scripts/check_libtorch.py $(LIBTORCH_VERSIONS)

# Every test of the CPU build again as on CPUs without AVX-512 (avx2) and without AVX (default):
# LibTorch, oneDNN and MKL capped by their variables, the oracle's expected values made under the
# same caps (about 12 minutes per capability on 2 cores; not part of `make test`).
CPU_CAPABILITIES ?= avx2 default
check-cpus: build
	bash scripts/check_cpus.sh $(BUILD) $(CPU_CAPABILITIES)

# libFuzzer targets (fuzz/) under clang with ASan + UBSan; setup --fuzz installs clang and libFuzzer.
fuzz-setup:
	@bash scripts/setup.sh --fuzz

$(FUZZ_BUILD)/build.ninja: CMakeLists.txt fuzz/CMakeLists.txt | fuzz-setup
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) -DEMBEDTUNE_SANITIZE=ON -DEMBEDTUNE_FUZZ=ON -DEMBEDTUNE_TESTS=OFF

build-fuzz: fuzz-setup $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Each fuzz target for FUZZ_SECONDS (default 60) on a copy of its seed corpus, one at a time; prints
# executions, corpus size and findings per target and writes $(FUZZ_BUILD)/fuzz-summary.json.
# FUZZ_TARGETS="npy json" runs only those.
fuzz: build-fuzz
	$(PY) fuzz/run_fuzzers.py --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# All tests: the C++ and Python parity tests, then the plain C++ layers again under ASan + UBSan.
test: build build-asan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	$(PY) bench/run_all.py --bin $(BUILD)/embedtune

# The whole workflow on the bundled model and dataset (recipes/demo.yaml): prepare, baseline,
# fine-tune, evaluate, compare; ends with the table and the path of runs/demo/report.html.
demo: build
	./$(BUILD)/embedtune run recipes/demo.yaml --model "$$($(PY) scripts/default_model.py)"

format: setup
	.venv/bin/clang-format -i $$(git ls-files "*.h" "*.cc")

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(CUDA_BUILD)
