"""Tune the beat tracker's few parameters on a checkpoint's cached activations (docs/training.md).

The network runs once per song (its beat / downbeat activations and the flux feature are cached
under --cache); then each tracker config of the grid runs over them and the live EventDetector
reads its beats, scored with mir_eval (beat and downbeat F, +-70 ms, after 4 s). Tune on the
procedural validation songs (`--set val`: seeds 30000 and up, apart from the trainer's 20000+ and
synesthete-eval's 10000+); `--set dev` reads the dev set (say so in the docs if a choice is made there).

    uv run --locked python scripts/tune_tracker.py CKPT --set val observation_lambda=8,16,32 onset_weight=0,0.7
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch

from synesthete.checkpoint import load_model
from synesthete.constants import STEMS
from synesthete.features import FeatureExtractor
from synesthete.hearing_evaluation import MIN_TIME_S, dev_set_items, procedural_items
from synesthete.metrics.hearing import beat_f
from synesthete.registry import build
from synesthete.music_events import Beat, Downbeat, EventDetector

VALIDATION_TUNING_SEEDS = 30000


def activations(ckpt: str, which: str, n_songs: int, dev_set: Path, cache: Path):
    """[(beat (T,), downbeat (T,), flux (T,))], [(true beats, true downbeats)] per song, cached."""
    model = load_model(ckpt)
    path = cache / f"{Path(ckpt).resolve().parent.name}_{Path(ckpt).stem}_{which}.npz"
    if path.exists():
        z = np.load(path, allow_pickle=True)
        return list(z["acts"]), list(z["truths"]), model.cfg
    cfg = model.cfg
    items = (procedural_items(cfg, list(range(VALIDATION_TUNING_SEEDS, VALIDATION_TUNING_SEEDS + n_songs)), 16.0)
             if which == "val" else dev_set_items(dev_set, cfg.sample_rate))
    fx = FeatureExtractor.for_model(cfg)
    acts, truths = [], []
    with torch.no_grad():
        for it in items:
            raw = model(fx.extract(torch.from_numpy(it.audio)[None]))
            acts.append(np.stack([torch.sigmoid(raw["beat"][0]).double().numpy(),
                                  torch.sigmoid(raw["downbeat"][0]).double().numpy(), raw["flux"][0].double().numpy()]))
            truths.append((np.asarray(it.truth.beats), np.asarray(it.truth.downbeats)))
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, acts=np.array(acts, dtype=object), truths=np.array(truths, dtype=object))
    return acts, truths, cfg


def score(tracker, fps: float, acts, truths) -> np.ndarray:
    """(songs, 2): beat F and downbeat F of the tracker's events on each song."""
    res = []
    for (b, d, flux), (tb, tdb) in zip(acts, truths):
        state, det, beats, downs = tracker.init_state(1), EventDetector(fps), [], []
        for t in range(len(b)):
            o, state = tracker.step(b[t:t + 1], d[t:t + 1], flux[t:t + 1], state)
            for e in det.update({"beat_phase": o["beat_phase"][0], "bar_phase": o["bar_phase"][0],
                                 "onset": np.zeros(len(STEMS)), "tempo": o["tempo"][0],
                                 "chord_root": 0.0, "chord_quality": 0.0}):
                (beats if isinstance(e, Beat) else downs if isinstance(e, Downbeat) else []).append(e.time)
        res.append((beat_f(tb, beats, MIN_TIME_S), beat_f(tdb, downs, MIN_TIME_S)))
    return np.array(res)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--set", choices=("val", "dev"), default="val")
    ap.add_argument("--songs", type=int, default=8, help="validation songs (--set val)")
    ap.add_argument("--dev-set", type=Path, default=Path("results/dev_set"))
    ap.add_argument("--cache", type=Path, default=Path("runs/tracker_cache"))
    ap.add_argument("grid", nargs="*", help="KEY=V1,V2 ... over TrackerConfig fields")
    args = ap.parse_intermixed_args()
    torch.set_num_threads(1)
    acts, truths, cfg = activations(args.checkpoint, args.set, args.songs, args.dev_set, args.cache)
    grid: list[dict[str, float]] = [{}]
    for arg in args.grid:
        key, values = arg.split("=")
        grid = [dict(g, **{key: float(v)}) for g in grid for v in values.split(",")]
    for g in grid:
        tcfg = dataclasses.replace(cfg.tracker, **g)
        r = score(build("tracker", tcfg.name, fps=cfg.fps, cfg=tcfg), cfg.fps, acts, truths)
        print(g or "checkpoint's tracker", "beat F %.3f downbeat F %.3f" % tuple(r.mean(0)),
              "per song:", np.round(r[:, 0], 2).tolist(), flush=True)


if __name__ == "__main__":
    main()
