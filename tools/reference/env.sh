#!/usr/bin/env bash
# A Python virtual environment with the outside references this project's numbers are checked
# against: llama.cpp through llama-cpp-python (built for this CPU; several minutes the first time),
# gguf, safetensors, Pymanopt, NumPy, SciPy. Development aids only: the product and its tests never
# need them.
#   tools/reference/env.sh [DIR]      (default ~/.cache/airfl-reference), then DIR/bin/python tools/reference/….py
set -euo pipefail
dir=${1:-$HOME/.cache/airfl-reference}
modules="llama_cpp, gguf, safetensors, pymanopt, numpy, scipy"
if [[ -x $dir/bin/python ]] && "$dir/bin/python" -c "import $modules" 2>/dev/null; then
  echo "reference environment ready: $dir"
  exit 0
fi
python3 -m venv "$dir"
CMAKE_ARGS="-DGGML_NATIVE=ON" "$dir/bin/pip" install -q llama-cpp-python gguf safetensors pymanopt numpy scipy
echo "reference environment ready: $dir"
