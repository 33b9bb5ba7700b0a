#!/usr/bin/env bash
# Fuzz the parsers that read what peers and files hand the project (libFuzzer, AddressSanitizer):
#   launch/fuzz.sh TARGET SECONDS [libFuzzer options…]     TARGET: frame gguf npy scenario profile checkpoint, or all
#   launch/fuzz.sh TARGET --runs N                          a fixed number of iterations (the test suite's run)
# Builds lab with ASan, coverage instrumentation and libFuzzer into .build/fuzz (the first
# time: minutes), then runs `lab fuzz TARGET` from the committed seed corpus
# (Tests/Fuzz/corpus/TARGET, made by `lab fuzz-seeds`); new inputs go to
# results/fuzz/TARGET/corpus, findings (crash-*, timeout-*, oom-*, leak-*) and the log to
# results/fuzz/TARGET/. Exits non-zero when a target finds something. An allocation over 1 GB
# (-malloc_limit_mb) or an input taking over 10 s counts as a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: launch/fuzz.sh TARGET SECONDS|--runs N [libFuzzer options…]}
shift
case ${1:-} in
  --runs) budget=(-runs="${2:?--runs N}"); shift 2 ;;
  ''|-*) echo "fuzz: give SECONDS or --runs N" >&2; exit 2 ;;
  *) budget=(-max_total_time="$1"); shift ;;
esac
targets=(frame gguf npy scenario profile checkpoint)
[[ $target == all ]] || targets=("$target")

swiftc_dir=$(dirname "$(readlink -f "$(command -v swiftc)")")
runtime=$(ls "$swiftc_dir"/../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | head -n 1 || true)
[[ -n $runtime ]] || { echo "fuzz: no libclang_rt.fuzzer_no_main in the Swift toolchain ($swiftc_dir/../lib/clang)" >&2; exit 1; }
launch/setup.sh packages >&2
echo "fuzz: building the instrumented lab (.build/fuzz)" >&2
# gold warns once per ASan symbol it cannot export (hundreds of lines, harmless): filtered out.
mkdir -p .build
build_log=.build/fuzz-build.log
if ! swift build --build-path .build/fuzz --product lab \
  -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp -Xswiftc -DAIRFL_FUZZ \
  -Xlinker "$runtime" -Xlinker -lstdc++ > "$build_log" 2>&1; then
  grep -v "ld.gold: warning: Cannot export local symbol" "$build_log" | tail -n 40 >&2
  echo "fuzz: the instrumented build failed (whole log: $build_log)" >&2
  exit 1
fi
grep -v "ld.gold: warning: Cannot export local symbol" "$build_log" | tail -n 3 >&2
bin=.build/fuzz/debug/lab

status=0
for t in "${targets[@]}"; do
  out=results/fuzz/$t
  mkdir -p "$out/corpus"
  # Output to a file: a pipe can hold a crashing run open while the sanitizer reports.
  if ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 "$bin" fuzz "$t" "${budget[@]}" -malloc_limit_mb=1024 -rss_limit_mb=4096 -timeout=10 \
       -artifact_prefix="$out/" "$@" "$out/corpus" "Tests/Fuzz/corpus/$t" > "$out/fuzz.log" 2>&1; then
    echo "fuzz $t: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$out/fuzz.log" | tail -n 1 || echo done), no finding" >&2
  else
    status=1
    echo "fuzz $t: FINDING — see $out/fuzz.log and $(ls "$out"/crash-* "$out"/oom-* "$out"/timeout-* 2>/dev/null | head -n 3 | tr '\n' ' ')" >&2
    tail -n 30 "$out/fuzz.log" >&2
  fi
done
exit "$status"
