"""Calibrate a hearing checkpoint's per-stem onset thresholds again, weights untouched (docs/training.md).

synesthete-train calibrates them at the end of training on `eval.calibrate_seeds` validation songs
(seeds 20000 and up) and `eval.calibrate_midi_songs` MMA songs never trained on; a checkpoint
calibrated on fewer songs, or before the rule changed, is brought up to date here without
retraining. Same songs, same rule, same detector as the trainer's (the recipe's counts by default).

    uv run --locked python scripts/calibrate_onsets.py synesthete/checkpoints/default.pt
    uv run --locked python scripts/calibrate_onsets.py runs/x/last.pt --songs 64 --mma-songs 0 --out /tmp/x.pt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from synesthete.checkpoint import CheckpointError, load_model, resolve_checkpoint, store_onset_thresholds
from synesthete.constants import STEMS, VALIDATION_SEED_BASE
from synesthete.model import HearingModel
from synesthete_train.hearing import calibrate_onset_thresholds, calibration_songs, ensure_midi_pool
from synesthete_train.midi_pool import MMA_CALIBRATION_DRAW


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", help="a hearing checkpoint (written in place unless --out)")
    ap.add_argument("--songs", type=int, default=64, help="procedural validation songs of 16 s (default 64; ~2 s each on a CPU core)")
    ap.add_argument("--seed-base", type=int, default=VALIDATION_SEED_BASE,
                    help=f"their seeds start here (default {VALIDATION_SEED_BASE}, the trainer's; "
                         "never synesthete-eval's 10000+)")
    ap.add_argument("--mma-songs", type=int, default=48,
                    help="and a 16 s excerpt of each of this many MMA songs drawn for calibration, never trained on "
                         "(default 48, some left out by the grid check; 0 = procedural songs only)")
    ap.add_argument("--mma-pool", default="runs/mma_calibration",
                    help="where those MMA songs are, built there first if missing (~2 s a song; needs mma and "
                         "fluidsynth: scripts/setup.sh); default runs/mma_calibration")
    ap.add_argument("--out", help="write here instead of in place")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = ap.parse_args()
    if args.songs < 2:
        sys.exit(f"error: --songs must be >= 2 (a threshold moves only for a gain sure over the songs), got {args.songs}")
    if args.mma_songs < 0:
        sys.exit(f"error: --mma-songs must be >= 0 (0 = procedural songs only), got {args.mma_songs}")
    if args.out and not Path(args.out).resolve().parent.is_dir():  # before minutes of listening, not after
        sys.exit(f"error: {args.out}: folder {Path(args.out).parent} does not exist")
    torch.set_num_threads(max(1, args.threads))
    try:
        model = load_model(resolve_checkpoint(args.checkpoint))
        if not isinstance(model, HearingModel):
            raise CheckpointError(f"{args.checkpoint}: a pixel model checkpoint has no onset thresholds")
        before = tuple(model.cfg.onset_thresholds) or (None,) * len(STEMS)
        t0 = time.perf_counter()
        if args.mma_songs:
            ensure_midi_pool(Path(args.mma_pool), model.cfg.sample_rate, args.mma_songs, MMA_CALIBRATION_DRAW,
                             "--mma-pool", "calibrate on procedural songs only: --mma-songs 0")
        sets = calibration_songs(model.cfg, args.songs, args.seed_base, args.mma_pool if args.mma_songs else None)
        thresholds, best = calibrate_onset_thresholds(model, sets, torch.device("cpu"), progress=sys.stderr.isatty())
        path = store_onset_thresholds(args.checkpoint, thresholds, args.out)
    except (CheckpointError, ValueError) as e:
        sys.exit(f"error: {e}")
    mma = f" and {len(sets[1])} MMA songs" if len(sets) > 1 else ""
    print(f"wrote {path}: onset thresholds on {args.songs} validation songs{mma} ({time.perf_counter() - t0:.0f} s): "
          + ", ".join(f"{s} {'-' if a is None else f'{a:.2f}'} -> {b:.2f}" + (f" (F {best[s]:.3f})" if s in best else "")
                      for s, a, b in zip(STEMS, before, thresholds)))


if __name__ == "__main__":
    main()
