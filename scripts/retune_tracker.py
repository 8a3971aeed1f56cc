"""Write tracker values into a hearing checkpoint's stored config, weights untouched (docs/model.md).

A checkpoint stores every tracker value it was trained with, so a value tuned afterwards
(scripts/tune_tracker.py) reaches it only by rewriting that config; the tracker has no weights, so
nothing is retrained. Validated like a preset: an unknown key or a value out of range is one line.

    uv run --locked python scripts/retune_tracker.py runs/x/last.pt reset=1e-5
    uv run --locked python scripts/retune_tracker.py synesthete/checkpoints/default.pt reset=1e-5 --out /tmp/d.pt
"""

from __future__ import annotations

import argparse
import sys

from synesthete.checkpoint import CheckpointError, load_checkpoint, retune_tracker


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("values", nargs="+", help="KEY=VALUE over TrackerConfig fields (model.tracker)")
    ap.add_argument("--out", help="write here instead of in place")
    args = ap.parse_args()
    try:
        before = load_checkpoint(args.checkpoint)["config"].get("tracker", {})
        path = retune_tracker(args.checkpoint, args.values, args.out)
        after = load_checkpoint(path)["config"]["tracker"]
    except CheckpointError as e:
        sys.exit(f"error: {e}")
    changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
    print(f"wrote {path}: " + (", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in changed.items()) or "no change"))


if __name__ == "__main__":
    main()
