"""The hearing model's figures on held-out procedural songs, room-mic augmented (docs/training.md).

    uv run python scripts/hearing_figures.py                          # the shipped default.pt, 16 songs of 20 s
    uv run python scripts/hearing_figures.py --checkpoint runs/a/last.pt --songs 8 --json a.json

Each song: seed 10000 + i of `render_clip` (the held-out range `synesthete-eval` uses; training
streams never draw it), 20 s, through `MicAugment` with its room forced on (a mic in a club),
then the model run causally over the whole song (`forward` equals the live `step`), its state
turned into events by `synesthete.music_events.detect_events` (the detector a live show runs) and
scored against the score's exact events with `synesthete.metrics.hearing` (mir_eval's
definitions): beat and downbeat F (±70 ms), onset F per stem (±50 ms), chord root accuracy per
frame, energy correlation, all after the first `--skip` seconds (a causal tracker needs a few to
lock). Prints the mean over songs of each figure (and the CPU flags they were taken on).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import torch

SEED_BASE = 10_000


def cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags = sorted(set(re.findall(r"\b(avx512[a-z_0-9]*|avx2|amx[a-z_]*)\b", text)))
    return " ".join(flags) or "none of avx2/avx512/amx"


def song_figures(model, seed: int, seconds: float, skip: float) -> dict[str, float]:
    from synesthete.audio.augment import MicAugment
    from synesthete.audio.engine import render_clip
    from synesthete.features import FeatureExtractor
    from synesthete.metrics.hearing import hearing_scores, score_events
    from synesthete.model import outputs_to_fields, to_music_state
    from synesthete.music_events import detect_events

    cfg = model.cfg
    clip = render_clip(seed, seconds, sample_rate=cfg.sample_rate)
    augment = MicAugment(cfg.sample_rate, {"room": 1.0})
    audio = augment(clip.audio, np.random.default_rng(seed))
    feats = FeatureExtractor.for_model(cfg).extract(torch.from_numpy(audio))
    with torch.no_grad():
        state = to_music_state(outputs_to_fields(model(feats)), fps=cfg.fps)
    truth_state = clip.score.music_state(cfg.fps, len(state))
    score = clip.score
    truth = score_events(score.beat_times, score.downbeat_times, score.onsets)
    return hearing_scores(truth, detect_events(state), truth_state, state, min_time=skip)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="hearing checkpoint (default: the shipped default.pt)")
    p.add_argument("--songs", type=int, default=16, help="held-out songs, seeds 10000.. (default 16)")
    p.add_argument("--seconds", type=float, default=20.0, help="seconds per song (default 20)")
    p.add_argument("--skip", type=float, default=4.0, help="seconds left out at the start of each song (default 4)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    from synesthete.checkpoint import CheckpointError, load_model

    if args.songs < 1 or not args.seconds > args.skip >= 0:
        print("hearing_figures: need --songs >= 1 and --seconds > --skip >= 0", file=sys.stderr)
        return 2
    try:
        model = load_model(args.checkpoint, kind="hearing")
    except CheckpointError as e:
        print(f"hearing_figures: error: {e}", file=sys.stderr)
        return 2
    per_song: dict[str, list[float]] = {}
    for i in range(args.songs):
        for k, v in song_figures(model, SEED_BASE + i, args.seconds, args.skip).items():
            if np.isfinite(v):
                per_song.setdefault(k, []).append(v)
    figures = {k: round(float(np.mean(v)), 4) for k, v in sorted(per_song.items())}
    figures["songs"] = args.songs
    figures["cpu_flags"] = cpu_flags()
    for k, v in figures.items():
        print(f"{k:24s} {v}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
