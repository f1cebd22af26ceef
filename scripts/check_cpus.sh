#!/usr/bin/env bash
# make check-cpus: the CPU build's tests as they run on CPUs with fewer instruction sets than this
# one, without such a machine. LibTorch picks its kernels by what the CPU has (AVX-512, AVX2, or
# neither), and so do oneDNN and MKL; each can be capped by a variable. For each capability given
# (default: avx2 and default, i.e. no AVX at all), this caps all three, makes the oracle's expected
# values again under the same caps (in BUILD/testdata-cpu-CAP, kept for the next time) and runs
# every test of BUILD, as a machine of that kind would.
#
# usage: scripts/check_cpus.sh BUILD [CAPABILITY ...]    (capabilities: avx512 avx2 default)
set -euo pipefail

build=${1:?usage: scripts/check_cpus.sh BUILD [avx512|avx2|default ...]}
shift
caps=("$@")
[ ${#caps[@]} -gt 0 ] || caps=(avx2 default)
python=.venv/bin/python
jobs=${JOBS:-$(nproc)}

[ -f "$build/CMakeCache.txt" ] || { echo "check-cpus: $build is not a build folder: run make build first" >&2; exit 2; }
testdata=$(sed -n 's/^EMBEDTUNE_TESTDATA:PATH=//p' "$build/CMakeCache.txt")
[ -n "$testdata" ] || { echo "check-cpus: $build/CMakeCache.txt has no EMBEDTUNE_TESTDATA: configure it with make build" >&2; exit 2; }

# The caps per capability: ATen's dispatch, oneDNN's ISA, MKL's code path.
cap_env() {
  case "$1" in
    avx512) echo "ATEN_CPU_CAPABILITY=avx512 DNNL_MAX_CPU_ISA=AVX512_CORE MKL_ENABLE_INSTRUCTIONS=AVX512" ;;
    avx2) echo "ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2" ;;
    default) echo "ATEN_CPU_CAPABILITY=default DNNL_MAX_CPU_ISA=SSE41 MKL_ENABLE_INSTRUCTIONS=SSE4_2" ;;
    *) return 1 ;;
  esac
}
for cap in "${caps[@]}"; do
  cap_env "$cap" >/dev/null || { echo "check-cpus: unknown capability '$cap': expected avx512, avx2 or default" >&2; exit 2; }
done

# BUILD/testdata is where every test looks (the path is fixed at configure time); for each
# capability it becomes a link to that capability's folder, and this machine's own folder is
# put back at the end, however the run ends. make_testdata's digest includes the caps, so a
# folder made under other caps is never taken for this one's.
native="$testdata.native"
restore() {
  if [ -L "$testdata" ]; then rm -f "$testdata"; fi
  if [ -d "$native" ] && [ ! -e "$testdata" ]; then mv "$native" "$testdata"; fi
}
restore  # a run killed before it could put things back
trap restore EXIT
if [ -d "$testdata" ]; then mv "$testdata" "$native"; fi

failed=()
summary=()
for cap in "${caps[@]}"; do
  read -r -a vars <<<"$(cap_env "$cap")"
  got=$(env "${vars[@]}" "$python" -c 'import torch; print(torch.backends.cpu.get_cpu_capability())')
  want=$(echo "$cap" | tr '[:lower:]' '[:upper:]')
  if [ "$got" != "$want" ]; then
    echo "check-cpus: torch runs $got kernels under ATEN_CPU_CAPABILITY=$cap: this CPU lacks $want; leave it out" >&2
    exit 2
  fi
  mkdir -p "$testdata-cpu-$cap"
  ln -sfn "$(basename "$testdata")-cpu-$cap" "$testdata"
  echo "check-cpus: $cap (${vars[*]}): every test of $build, expected values in $testdata-cpu-$cap"
  start=$(date +%s)
  log="$build/check-cpus-$cap.log"
  if (cd "$build" && env "${vars[@]}" ctest --output-on-failure -j "$jobs") >"$log" 2>&1; then
    result="passed"
  else
    result="FAILED (see $log)"
    failed+=("$cap")
  fi
  line="$cap: $(grep -E 'tests passed|tests failed' "$log" | tail -1 || true) in $(( $(date +%s) - start )) s: $result"
  summary+=("$line")
  echo "check-cpus: $line"
  grep -A1000 'The following tests FAILED' "$log" || true
  rm -f "$testdata"
done

echo "check-cpus: summary"
printf '  %s\n' "${summary[@]}"
[ ${#failed[@]} -eq 0 ] || { echo "check-cpus: failed under ${failed[*]}" >&2; exit 1; }
