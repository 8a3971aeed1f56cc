#!/usr/bin/env bash
# The test command: install everything the suite needs, then run it (pytest through uv).
# Extra arguments go to pytest, e.g. scripts/test.sh tests/core -k features
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export SDL_VIDEODRIVER="${SDL_VIDEODRIVER:-dummy}" SDL_AUDIODRIVER="${SDL_AUDIODRIVER:-dummy}"
export WANDB_MODE=offline WANDB_SILENT=true JACK_NO_AUDIO_RESERVATION=1
# --all-packages --extra ndi: the optional NDI runtime too, so the NDI tests run for real (they skip without it).
exec uv run --locked --all-packages --extra ndi python -m pytest -q --timeout=600 "$@"
