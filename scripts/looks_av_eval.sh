#!/usr/bin/env bash
# The dev-set table of docs/visualizers.md ("How well the looks follow recorded music") in one command:
# render each piece of the dev set with `synesthete-render` (the live path: hearing model, music
# state, look, post effects) at 640x360 and 30 fps, then score the mp4s with `synesthete-eval --video`
# (AV-Align with its chance level, beat alignment against the MIDI beats, next to FFT bars).
#
#   scripts/looks_av_eval.sh                      # the six pieces of the table, preset default
#   PIECES=all scripts/looks_av_eval.sh           # all 13 pieces
#   PRESET=calm CHECKPOINT=runs/x/model.pt OUT=results/looks_eval_x scripts/looks_av_eval.sh
#
# About 25 s per piece on a 2-core box (render ~12 s, scoring ~10 s). Wraps itself in
# flock /tmp/heavy.lock when that lock file exists (the shared box's one-heavy-job rule).
set -euo pipefail
cd "$(dirname "$0")/.."
DEV_SET="${DEV_SET:-results/dev_set}"
[ -f "$DEV_SET/index.json" ] || { echo "looks_av_eval: no dev set at $DEV_SET (scripts/make_dev_set.py builds it; DEV_SET=DIR points elsewhere)" >&2; exit 1; }
PIECES="${PIECES:-crimson-default liquidwar-colossus mma-barb mma-bossa pinball-hurd-intro planetblupi-002}"
if [ "$PIECES" = all ]; then
  PIECES=$(python3 -c "import json,sys; print(' '.join(e['name'] for e in json.load(open(sys.argv[1]))['excerpts']))" "$DEV_SET/index.json")
fi
PRESET="${PRESET:-default}"
OUT="${OUT:-results/looks_eval}"
CKPT=()
[ -n "${CHECKPOINT:-}" ] && CKPT=(--checkpoint "$CHECKPOINT")
if [ -z "${LOOKS_AV_LOCKED:-}" ] && [ -e /tmp/heavy.lock ]; then
  LOOKS_AV_LOCKED=1 exec flock /tmp/heavy.lock "$0" "$@"
fi
mkdir -p "$OUT"
videos=()
for p in $PIECES; do
  [ -f "$DEV_SET/$p.wav" ] || { echo "looks_av_eval: $DEV_SET/$p.wav not found" >&2; exit 1; }
  uv run --locked synesthete-render "$DEV_SET/$p.wav" -o "$OUT/$p.mp4" --size 640x360 --fps 30 \
    --preset "$PRESET" --quiet "${CKPT[@]}"
  videos+=("$OUT/$p.mp4")
done
uv run --locked synesthete-eval --video "${videos[@]}" --dev-set "$DEV_SET" --json "$OUT/table.json"
echo "per-piece figures: $OUT/table.json"
