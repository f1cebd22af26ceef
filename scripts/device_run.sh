#!/usr/bin/env bash
# The GPU proof (issue 15) as one device run: build embedtune against the device's own CUDA torch,
# run the CUDA tests (VarlenAttention and every other test that needs a device), then
# bench/bench_gpu.py, embedtune beside sentence-transformers. Every log and figure goes under $OUT.
#
# Here, once, what the run carries (see ../shared/device/README.md):
#   bash scripts/device_run.sh prepare
#     .deps/    the -dev packages the build needs, as .deb files (../shared/device/fetch-debs.sh)
#     .device/  the demo dataset, and the default model in fp16 (the NDCG check's real weights)
# Then, with the device tool, one call:
#   command: bash scripts/device_run.sh run      carry: [".deps", ".device"]     timeout_s: 560
# (arguments after `run` go to bench_gpu.py: `run --stages quality,resume` measures only those;
# every stage together likely outgrows one 600 s call on an H200 since the `graphs` stage came, so
# `run` alone measures the figures still open: speed, graphs, peak, step-timing, quality-no-dropout,
# and profile, whose gzipped traces come back beside bench_gpu.json; then encode, fp32 and bf16,
# if at least 150 s of the call are left by then. EMBEDTUNE_DEVICE_BUDGET_S, default 550, is the
# call's time as this script counts it: set it a little under the call's timeout_s. If the call's
# limit kills the run anyway, bench_gpu.partial.json holds every measurement that had ended)
# On this machine, `EMBEDTUNE_DEVICE_REHEARSE=1 bash scripts/device_run.sh run` goes through the
# same steps on the CPU: .deps unpacked under /opt/deps, a fresh tree (build-device-rehearsal) on
# the CUDA torch of `make build-cuda` (.venv-cuda), two jobs, a tiny benchmark.
#
# The device image's system libraries are unknown (no -dev packages; libcurl and libssl maybe not
# at all), so the build there needs nothing from them beyond libc and libstdc++: no libcurl
# (-DEMBEDTUNE_HTTP=OFF: the benchmark needs no Hub) and OpenSSL's libcrypto.a from .deps.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(nlohmann-json3-dev libutf8proc-dev libutf8proc2 libcli11-dev libfmt-dev libfmt9
      libyaml-cpp-dev libyaml-cpp0.7 libgtest-dev libgmock-dev libjemalloc-dev libjemalloc2
      libonig-dev libonig5 libgloo-dev libcurl4-openssl-dev libssl-dev pkgconf pkgconf-bin
      libpkgconf3)

ORACLE_ST=$(sed -n 's/^sentence-transformers==//p' scripts/requirements-oracle.txt)
DEVICE_WHEELS=("sentence-transformers==$ORACLE_ST" datasets==5.2.0 datasets==4.8.5 datasets==4.4.2
               datasets==4.0.0 dill==0.4.1 dill==0.4.0 dill==0.3.8 multiprocess==0.70.19
               multiprocess==0.70.18 multiprocess==0.70.16)

# python_deps PYTHON: the Python side of the benchmark as the tests pin it, from .device/wheels:
# - sentence-transformers at the oracle's release: the image's 6.0.1 trains differently from 6.2.0
#   (rehearsed on the CPU: 4 steps, mean loss 4.49 against 4.80, NDCG@10 0.014 apart), while
#   embedtune reproduces 6.2.0 exactly;
# - datasets, which its trainer needs: resolved against what is installed first, else the newest
#   release without its pins.
# Says what it did.
python_deps() {
  if [ "$("$1" -c 'import sentence_transformers as s; print(s.__version__)')" != "$ORACLE_ST" ]; then
    "$1" -m pip install -q --no-index --no-deps .device/wheels/sentence_transformers-"$ORACLE_ST"-*.whl || true
  fi
  if "$1" -c 'import datasets' 2>/dev/null; then
    echo "datasets: $("$1" -c 'import datasets; print(datasets.__version__)') (installed)"
    return
  fi
  "$1" -m pip install -q --no-index --find-links .device/wheels datasets ||
    "$1" -m pip install -q --no-index --no-deps .device/wheels/datasets-5.2.0-*.whl \
      .device/wheels/dill-0.4.1-*.whl .device/wheels/multiprocess-0.70.19-*.whl || true
  "$1" -c 'import datasets; print("datasets:", datasets.__version__, "(from .device/wheels)")' ||
    echo "datasets: cannot be imported; sentence-transformers' side of the benchmark will fail"
}

# cast_weights PYTHON FILE DTYPE: rewrites a safetensors file with every floating-point tensor in
# DTYPE (integer buffers such as BERT's position_ids stay as they are).
cast_weights() {
  "$1" -c 'import sys, torch
from safetensors.torch import load_file, save_file
dtype = getattr(torch, sys.argv[2])
save_file({k: (v.to(dtype) if v.is_floating_point() else v).contiguous()
           for k, v in load_file(sys.argv[1]).items()}, sys.argv[1],
          metadata={"format": "pt"})' "$2" "$3"
}

# cuda_args REHEARSE: the CMake arguments that name the CUDA toolkit for LibTorch's CMake. Here
# (rehearsing), those of `make build-cuda` (scripts/setup-cuda.sh: a toolkit from PyPI); on the
# device, the one nvcc on PATH belongs to, else /usr/local/cuda.
cuda_args() {
  if [ "$1" = 1 ]; then
    bash scripts/setup-cuda.sh | grep -v -e '^-DCMAKE_PREFIX_PATH=' -e '^-DTORCH_CUDA_ARCH_LIST='
    return
  fi
  local home=${CUDA_HOME:-}
  if [ -z "$home" ] && command -v nvcc >/dev/null; then
    home=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
  fi
  [ -n "$home" ] && [ -f "$home/include/cuda_runtime_api.h" ] || home=/usr/local/cuda
  echo "-DCUDA_TOOLKIT_ROOT_DIR=$home"
  echo "-DCUDAToolkit_ROOT=$home"
}

prepare() {
  ../shared/device/fetch-debs.sh "${DEBS[@]}"
  mkdir -p .device
  [ -f data/python-docs-qa.jsonl ] || { echo "data/python-docs-qa.jsonl missing: run scripts/setup.sh" >&2; exit 1; }
  cp data/python-docs-qa.jsonl .device/
  # sentence-transformers trains only with `datasets`, which the device's image lacks (KINDS.md in
  # the device tool lists its packages: pyarrow, pandas, xxhash, fsspec and accelerate are there;
  # datasets, dill and multiprocess are not). A few releases of each, about 3 MB, so that pip there
  # picks one whose pins the installed pyarrow, fsspec and huggingface-hub satisfy.
  rm -rf .device/wheels
  local spec
  for spec in "${DEVICE_WHEELS[@]}"; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 "$spec" -d .device/wheels
  done
  local model
  model=$(.venv/bin/python scripts/default_model.py)
  rm -rf .device/quality-model
  cp -r "$model" .device/quality-model
  # Half precision to fit the transfer; the run widens it back to fp32 before either side loads it.
  cast_weights .venv/bin/python .device/quality-model/model.safetensors float16
  du -sh .deps .device | sed 's/^/carried: /'
}

run() {
  # torch_python: the torch whose LibTorch the build links; python: torch and
  # sentence-transformers for the benchmark. On the device both are the machine's python3.
  # out: the device tool's $OUT there; here, runs/device-rehearsal (ignored by git).
  local out=${OUT:-runs/device-rehearsal} build=build-device torch_python=python3 python=python3 jobs=16
  local rehearse=${EMBEDTUNE_DEVICE_REHEARSE:-0} started
  started=$(date +%s)
  mkdir -p "$out"
  if [ "$rehearse" = 1 ]; then
    build=build-device-rehearsal torch_python=.venv-cuda/bin/python python=.venv/bin/python jobs=2
  fi
  # shellcheck disable=SC1091
  source .deps/unpack.sh
  export PATH="/opt/deps/usr/bin:$PATH"
  export PKG_CONFIG_PATH="/opt/deps/usr/lib/x86_64-linux-gnu/pkgconfig:/opt/deps/usr/share/pkgconfig"
  # Debian's multiarch headers (openssl/configuration.h), which the compiler looks for only under /usr.
  export CPATH="/opt/deps/usr/include/x86_64-linux-gnu:$CPATH"
  {
    echo "== machine"; nvidia-smi || true; echo "nvcc: $(command -v nvcc || echo none)"; ls -d /usr/local/cuda* || true
    $torch_python -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
    [ "$rehearse" = 1 ] || python_deps "$python"
    $python -c 'import sentence_transformers as s, transformers as t; print("sentence-transformers", s.__version__, "transformers", t.__version__)'
  } 2>&1 | tee "$out/machine.txt"

  echo "== build ($build)"
  local prefix cuda
  prefix=$($torch_python -c 'import torch; print(torch.utils.cmake_prefix_path)')
  mapfile -t cuda < <(cuda_args "$rehearse")
  echo "CUDA toolkit: ${cuda[*]}"
  SECONDS=0
  if ! { cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMBEDTUNE_TESTS=ON \
           -DEMBEDTUNE_PARQUET=OFF -DEMBEDTUNE_PYTHON="$(command -v $python || echo $python)" \
           -DTORCH_CUDA_ARCH_LIST=9.0 -DEMBEDTUNE_HTTP=OFF -DOPENSSL_USE_STATIC_LIBS=TRUE "${cuda[@]}" \
           -DCMAKE_PREFIX_PATH="$prefix${CMAKE_PREFIX_PATH:+;${CMAKE_PREFIX_PATH//:/;}}" &&
         cmake --build "$build" -j "$jobs" --target embedtune embedtune_model_tests; } > "$out/build.log" 2>&1; then
    tail -40 "$out/build.log"; echo "device_run: the build failed (whole log in build.log)"; exit 1
  fi
  echo "built in ${SECONDS} s"
  # What the executable loads from outside LibTorch and /opt/deps (only libc, libstdc++ and the like
  # are expected): a "not found" here is the first thing to read if embedtune fails to start.
  { ldd "$build/embedtune" | grep -v -e /opt/deps -e torch/lib || true; } | tee -a "$out/build.log"

  local model=.device/quality-model
  if [ "$rehearse" = 1 ]; then
    model=$(.venv/bin/python scripts/default_model.py)
  else
    cast_weights "$python" "$model/model.safetensors" float32
  fi

  echo "== CUDA tests"
  # On the GPU these must run, not skip (tests/cpp/model/): the varlen kernels against the padded
  # path, forward and gradients; bf16 training's forward (autocast around it, fp32 out), on the
  # default model.
  EMBEDTUNE_DEFAULT_MODEL="$model" "$build/tests/embedtune_model_tests" \
    --gtest_filter='VarlenAttention.*:SentenceTransformer.ForwardMixed*' 2>&1 | tee "$out/cuda_tests.txt" || true

  echo "== benchmark"
  # What is left of the call for the benchmark, so that it starts the encode stage only if that fits.
  # (Rehearsing, every stage runs, encode too, through the same budget: an hour by default.)
  local budget=550
  [ "$rehearse" = 1 ] && budget=3600
  budget=$(( ${EMBEDTUNE_DEVICE_BUDGET_S:-$budget} - ($(date +%s) - started) ))
  (( budget > 0 )) || budget=1
  echo "seconds left for the benchmark: $budget"
  local bench=(--bin "$build/embedtune" --data .device/python-docs-qa.jsonl --quality-model "$model"
               --tokenizer "$model" --steps 200 --quality-steps 100 --encode-bf16 --output "$out/bench_gpu.json"
               --stages speed,graphs,peak,step-timing,quality-no-dropout,profile
               --budget-s "$budget" --if-time encode:150)
  [ "$rehearse" = 1 ] && bench=(--bin "$build/embedtune" --quality-model "$model" --rehearse
                                --output "$out/bench_gpu.json" --budget-s "$budget" --if-time encode:60
                                --stages speed,graphs,peak,step-timing,quality,quality-no-dropout,resume,profile)
  $python bench/bench_gpu.py "${bench[@]}" "$@" 2>&1 | tee "$out/bench_gpu.txt"
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
