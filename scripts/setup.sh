#!/usr/bin/env bash
# Brings a fresh Debian 12 machine up to build, test and demo embedtune; idempotent and quick
# when everything is already in place. Prints the default model folder at the end.
# --fuzz: also clang and libFuzzer, for `make fuzz` (left out otherwise, so `make test` needs neither).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

debs=(build-essential cmake ninja-build ccache pkg-config nlohmann-json3-dev libutf8proc-dev chromium fonts-dejavu-core
      libcli11-dev libfmt-dev libyaml-cpp-dev libgtest-dev libgmock-dev libjemalloc-dev python3.11-doc
      libonig-dev libgloo-dev libcurl4-openssl-dev libssl-dev strace)
for arg in "$@"; do
  case "$arg" in
    # clang-14 with libFuzzer (libclang-rt-14-dev) and llvm-symbolizer for the sanitizers' stacks.
    --fuzz) debs+=(clang-14 libclang-rt-14-dev llvm-14) ;;
    *) echo "setup: unknown option $arg (known: --fuzz)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null || py=python3
stamp=.venv/.embedtune-setup
# pip, without the index's harmless "Location ... is ignored" warnings; fails when pip fails.
quiet_pip() {
  local rc=0
  .venv/bin/pip "$@" > .venv-pip.log 2>&1 || rc=$?
  grep -v "is ignored" .venv-pip.log >&2 || true
  rm -f .venv-pip.log
  return $rc
}
want="$(cat scripts/requirements-oracle.txt)torch==2.13.0"
if [ ! -x .venv/bin/python ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: creating .venv (torch 2.13.0 CPU, sentence-transformers oracle)" >&2
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  quiet_pip install -q --upgrade pip
  # torch first, from the CPU wheel, so that nothing below pulls a multi-GB CUDA build.
  quiet_pip install -q torch==2.13.0
  quiet_pip install -q -r scripts/requirements-oracle.txt torch==2.13.0
  printf '%s' "$want" > "$stamp"
fi

# The default demo dataset, built from Debian's python3.11-doc (never committed: third-party text).
dataset=data/python-docs-qa.jsonl
if [ ! -s "$dataset" ] || [ tools/build_docs_dataset.py -nt "$dataset" ]; then
  echo "setup: building $dataset from python3.11-doc" >&2
  mkdir -p data
  .venv/bin/python tools/build_docs_dataset.py --output "$dataset" >&2
fi

model_dir="$(.venv/bin/python scripts/default_model.py)"
echo "setup: default model: $model_dir" >&2
