#!/usr/bin/env bash
# The main job: set up (first run only takes a while), then start the live performer.
# With no microphone it plays the built-in procedural demo. Arguments go to synesthete-live.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec uv run --locked synesthete-live "$@"
