"""How a hearing checkpoint's onset F depends on the EventDetector's threshold, stem by stem.

Hears validation songs (seeds 20000+, as from a room mic; never the evaluation's) once, then reads hits out of the model's
onset curves at several thresholds and prints mir_eval's onset F (±50 ms, after 4 s) per stem and
threshold. synesthete-train already stores calibrated per-stem thresholds in each checkpoint
(docs/training.md); this shows how flat or peaked each stem's curve is. Do not tune on the
evaluation's songs or the dev set: that would flatter the model.

    uv run --locked python scripts/onset_threshold_sweep.py [--checkpoint CKPT] [--seeds 8]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from synesthete.analysis import hear
from synesthete.checkpoint import load_model
from synesthete.constants import VALIDATION_SEED_BASE
from synesthete.hearing_evaluation import MIN_TIME_S, procedural_items
from synesthete.metrics.hearing import onset_f
from synesthete.music_events import DetectorConfig, detect_events

STEMS_SHOWN = ("kick", "snare", "hat_closed", "hat_open", "perc", "bass")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--duration", type=float, default=16.0)
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model = load_model(args.checkpoint, kind="hearing")
    # the trainer's validation songs (as its calibration), not synesthete-eval's 10000+
    items = procedural_items(model.cfg, [VALIDATION_SEED_BASE + i for i in range(args.seeds)], args.duration)
    states = [hear(model, it.audio) for it in items]
    print(f"{'threshold':>10}" + "".join(f"{s:>12}" for s in STEMS_SHOWN))
    for thr in args.thresholds:
        cfg = DetectorConfig(onset_threshold=thr)
        per_stem: dict[str, list[float]] = {s: [] for s in STEMS_SHOWN}
        for item, state in zip(items, states):
            est = detect_events(state, model.cfg.fps, cfg)
            for s in STEMS_SHOWN:
                ref = item.truth.onsets[s][0]
                if np.count_nonzero(ref >= MIN_TIME_S):
                    per_stem[s].append(onset_f(ref, est.onsets[s][0], min_time=MIN_TIME_S))
        print(f"{thr:>10.2f}" + "".join(f"{np.mean(v) if v else float('nan'):>12.3f}" for v in per_stem.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
