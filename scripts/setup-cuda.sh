#!/usr/bin/env bash
# What `make build-cuda` needs besides scripts/setup.sh: a second virtual environment,
# .venv-cuda, holding a CUDA build of torch (its LibTorch, and the CUDA runtime libraries as
# PyPI's nvidia-* wheels), and a CUDA toolkit for CMake's FindCUDAToolkit. Idempotent and quick
# when everything is in place. Prints the CMake arguments the build needs, one per line.
#
# TORCH_CUDA_VERSION picks the torch release (default 2.14.1, CUDA 13); CUDA_HOME picks the
# toolkit (default: the one nvcc on PATH belongs to, else /usr/local/cuda); TORCH_CUDA_ARCH_LIST
# the GPU architectures (default "8.0;9.0": A100, H100/H200).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

version="${TORCH_CUDA_VERSION:-2.14.1}"
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null || py=python3
venv=.venv-cuda
stamp="$venv/.embedtune-cuda-setup"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "torch==$version" ]; then
  echo "setup-cuda: creating $venv with torch==$version (a CUDA build, about 5.5 GB)" >&2
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q "torch==$version" >&2
  printf '%s' "torch==$version" > "$stamp"
fi
if [ "$("$venv/bin/python" -W ignore -c 'import torch; print(torch.version.cuda or "")')" = "" ]; then
  echo "setup-cuda: $venv holds a CPU-only torch $version; install a CUDA build of it" >&2
  exit 1
fi

# The toolkit: CUDA_HOME, else the one nvcc on PATH belongs to (nvcc may be a wrapper script or a
# link elsewhere, so its folder is only a candidate), else /usr/local/cuda.
valid_toolkit() { [ -x "$1/bin/nvcc" ] && [ -f "$1/include/cuda_runtime_api.h" ]; }
cuda_home=""
if [ -n "${CUDA_HOME:-}" ]; then
  cuda_home="$CUDA_HOME"
else
  candidates=()
  if command -v nvcc >/dev/null; then
    nvcc_path="$(readlink -f "$(command -v nvcc)")"
    candidates+=("$(cd "$(dirname "$nvcc_path")/.." && pwd)")
  fi
  candidates+=(/usr/local/cuda)
  for candidate in "${candidates[@]}"; do
    if valid_toolkit "$candidate"; then cuda_home="$candidate"; break; fi
  done
  [ -n "$cuda_home" ] || cuda_home="${candidates[0]}"
fi
if ! valid_toolkit "$cuda_home"; then
  echo "setup-cuda: no CUDA toolkit at $cuda_home (nvcc and headers); install one (e.g. NVIDIA's" \
       "cuda-toolkit package) or set CUDA_HOME to it" >&2
  exit 1
fi

site="$("$venv/bin/python" -W ignore -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
nvrtc="$(find "$site/nvidia" -name 'libnvrtc.so*' 2>/dev/null | sort | head -1)"
[ -n "$nvrtc" ] || nvrtc="$(find "$cuda_home" -name 'libnvrtc.so*' 2>/dev/null | sort | head -1)"
echo "-DCMAKE_PREFIX_PATH=$("$venv/bin/python" -W ignore -c 'import torch; print(torch.utils.cmake_prefix_path)')"
echo "-DCUDA_TOOLKIT_ROOT_DIR=$cuda_home"
echo "-DCUDAToolkit_ROOT=$cuda_home"
[ -z "$nvrtc" ] || echo "-DCUDA_nvrtc_LIBRARY=$nvrtc"
# The GPU architectures to target. embedtune has no CUDA sources of its own, but LibTorch's CMake
# would otherwise compile and run a probe on the local GPU, which fails where there is none.
echo "-DTORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-8.0;9.0}"
