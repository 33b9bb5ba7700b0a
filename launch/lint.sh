#!/usr/bin/env bash
# The code's form, as launch/test.sh checks it: the toolchain's `swift format lint` under the
# committed .swift-format (--strict: any finding fails), and no line over 120 characters, which the
# formatter cannot break inside a string literal or a comment. `swift format format -i -r -p
# Sources Tests Package.swift` applies the formatter; the long lines are for a person to wrap.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find Sources Tests -name '*.swift' | sort)
files+=(Package.swift)
status=0
swift format lint --strict --parallel "${files[@]}" || status=1
# Characters, not bytes (σ, ‖, → are one each): grep in a UTF-8 locale.
if long=$(LC_ALL=C.UTF-8 grep -nP '^.{121,}' "${files[@]}"); then
  echo "lint: lines over 120 characters:" >&2
  echo "$long" | cut -c1-160 >&2
  status=1
fi
[[ $status -eq 0 ]] && echo "lint: ${#files[@]} files formatted, no line over 120 characters"
exit "$status"
