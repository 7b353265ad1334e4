#!/usr/bin/env bash
# Colab set-up of the ArtifactNet companion. The first code cell of every notebook clones the
# repository to /content/artifactnet and runs this script once per runtime (a few minutes):
#   1. apt-get installs the Debian packages of binder/apt.txt (the benchmark's real-music
#      sources, fluidsynth and its General MIDI soundfont);
#   2. pip installs the package (editable) with its `notebooks` extra. torch is NOT installed:
#      Colab ships its own (a CUDA build when the runtime has a GPU, which the notebooks then use),
#      pyproject.toml only asks torch>=2.2, and a constraint pins Colab's build so no dependency
#      can swap it.
# Usable outside Colab too (any Debian/Ubuntu machine with root and a Python that has torch).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
PYTHON="${PYTHON:-python3}"
t0=$SECONDS

# --- Debian packages (the one list is binder/apt.txt) -------------------------------------------
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$HERE/apt.txt")
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "Debian packages: all present"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Debian packages: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
else
  echo "NOTE: not root, Debian packages missing: ${missing[*]}"
  echo "  (the benchmark builder unpacks them into its cache with apt-get download)"
fi

# --- Python packages -----------------------------------------------------------------------------
constraints="$(mktemp)"
if "$PYTHON" -c "import torch" 2>/dev/null; then
  "$PYTHON" -c "import torch; print('torch==' + torch.__version__)" > "$constraints"
  echo "keeping this runtime's $(cat "$constraints")"
fi
"$PYTHON" -m pip install -q -c "$constraints" -e "$REPO[notebooks]"
rm -f "$constraints"

"$PYTHON" - <<'PY'
import torch

import artifactnet_core

gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU)"
print(f"artifactnet_core {artifactnet_core.__version__} | torch {torch.__version__} | GPU: {gpu}")
PY
echo "ArtifactNet companion ready in $((SECONDS - t0)) s"
