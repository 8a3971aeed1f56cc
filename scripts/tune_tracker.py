"""Tune the beat tracker's few parameters on a checkpoint's cached activations (docs/training.md),
and see per song why beats and downbeats fail (--per-song, docs/evaluation.md#why-the-downbeats-failed).

The network runs once per song (its beat activation, downbeat probability and the flux feature are
cached under --cache); then each tracker config of the grid runs over them and the live
EventDetector reads its beats, scored with mir_eval (beat and downbeat F, +-70 ms, after 4 s). Tune
on the procedural validation songs (`--set val`: seeds 30000 and up, apart from the trainer's
20000+ and synesthete-eval's 10000+); `--set dev` reads the dev set (say so in the docs if a
choice is made there); `--set eval` reads synesthete-eval's held-out songs, for diagnosis only.

--per-song prints, per song: the true meter and tempo, the tracker's tempo (median after 4 s),
beat and downbeat F, the estimated beats' median offset from the true ones in beats, where the
estimated downbeats land on the true beat grid (beats after the true bar's first, mod the meter:
0 is right, a whole number a wrong beat of the bar, a fraction off the beats), the truth's mean
downbeat probability on each beat of the bar (does the head hear which beat is first) and the
mean beat activation on beats, halfway between two beats (the off-beat eighth note: as high as on
the beats, the tracker cannot tell the beat from the eighth) and away from both.

    uv run --locked python scripts/tune_tracker.py CKPT --set val observation_lambda=8,16,32 onset_weight=0,0.7
    uv run --locked python scripts/tune_tracker.py CKPT --set eval --per-song
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import torch

from synesthete.checkpoint import load_model
from synesthete.constants import HELD_OUT_SEED_BASE, STEMS
from synesthete.features import FeatureExtractor
from synesthete.hearing_evaluation import MIN_TIME_S, dev_set_items, procedural_items
from synesthete.metrics.hearing import beat_f
from synesthete.model.hearing import tracker_inputs
from synesthete.registry import build
from synesthete.music_events import Beat, Downbeat, EventDetector

VALIDATION_TUNING_SEEDS = 30000


def activations(ckpt: str, which: str, n_songs: int, dev_set: Path, cache: Path):
    """[(beat, downbeat probability, flux, 12 chord root probabilities, drums[, 4 phase head]) (16 or 20, T)], [(true beats, true
    downbeats)], the songs' names and the model's config, cached per checkpoint and set."""
    model = load_model(ckpt)
    songs = f"{n_songs}_" if which != "dev" else ""
    # keyed by the checkpoint's bytes, not only its name: a retrained default.pt at the same path
    # must not read the old one's activations (it did, once: a stale table for a whole morning)
    digest = hashlib.sha1(Path(ckpt).read_bytes()).hexdigest()[:10]
    path = cache / f"{Path(ckpt).resolve().parent.name}_{Path(ckpt).stem}_{digest}_{which}_{songs}v5.npz"
    if path.exists():
        z = np.load(path, allow_pickle=True)
        return list(z["acts"]), list(z["truths"]), list(z["names"]), model.cfg
    cfg = model.cfg
    base = {"val": VALIDATION_TUNING_SEEDS, "eval": HELD_OUT_SEED_BASE}.get(which)
    items = (procedural_items(cfg, list(range(base, base + n_songs)), 16.0) if base is not None
             else dev_set_items(dev_set, cfg.sample_rate))
    fx = FeatureExtractor.for_model(cfg)
    acts, truths = [], []
    with torch.no_grad():
        for it in items:
            b, d, flux, chord, drums, phase = tracker_inputs(model(fx.extract(torch.from_numpy(it.audio)[None])))
            rows = [np.stack([b[0], d[0], flux[0]]), chord[0].T, drums]
            acts.append(np.concatenate(rows + ([phase[0].T] if phase is not None else [])))
            truths.append((np.asarray(it.truth.beats), np.asarray(it.truth.downbeats)))
    cache.mkdir(parents=True, exist_ok=True)
    names = [it.source for it in items]
    np.savez(path, acts=np.array(acts, dtype=object), truths=np.array(truths, dtype=object), names=np.array(names))
    return acts, truths, names, cfg


def events(tracker, fps: float, acts) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per song the tracker's (beats, downbeats, tempo per frame), read by the live EventDetector."""
    res = []
    for a in acts:
        b, d, flux, chord, drums = a[0], a[1], a[2], a[3:15].T, a[15]
        phase = a[16:20].T if len(a) >= 20 else None  # the phase head's (sin, cos) of beat and bar (T, 4)
        state, det, beats, downs, tempo = tracker.init_state(1), EventDetector(fps), [], [], np.empty(len(b))
        for t in range(len(b)):
            o, state = tracker.step(b[t:t + 1], d[t:t + 1], flux[t:t + 1], state, chord=chord[t:t + 1],
                                    drums=drums[t:t + 1], phase=phase[t:t + 1] if phase is not None else None)
            tempo[t] = o["tempo"][0]
            for e in det.update({"beat_phase": o["beat_phase"][0], "bar_phase": o["bar_phase"][0],
                                 "onset": np.zeros(len(STEMS)), "tempo": o["tempo"][0],
                                 "chord_root": 0.0, "chord_quality": 0.0}):
                (beats if isinstance(e, Beat) else downs if isinstance(e, Downbeat) else []).append(e.time)
        res.append((np.array(beats), np.array(downs), tempo))
    return res


def score(tracker, fps: float, acts, truths) -> np.ndarray:
    """(songs, 2): beat F and downbeat F of the tracker's events on each song."""
    return np.array([(beat_f(tb, beats, MIN_TIME_S), beat_f(tdb, downs, MIN_TIME_S))
                     for (beats, downs, _), (tb, tdb) in zip(events(tracker, fps, acts), truths)])


def per_song(tracker, fps: float, acts, truths, names: list[str]) -> None:
    """The table of --per-song (the module docstring)."""
    print(f"{'song':>20} {'m':>2} {'bpm':>6} {'heard':>6} {'beat F':>6} {'down F':>6} {'offset':>6}  "
          f"{'downbeats on the true grid':<34} {'down p by beat of bar':<26} beat act on / half / off")
    for name, (beats, downs, tempo), (b, d, *_), (tb, tdb) in zip(names, events(tracker, fps, acts), acts, truths):
        grid = np.arange(len(tb), dtype=np.float64)
        first = np.searchsorted(tb, tdb - 1e-3)  # the true downbeats' indices on the beat grid
        meter = int(np.median(np.diff(first))) if len(first) > 1 else 4
        on = lambda times: np.interp(times[times >= MIN_TIME_S], tb, grid, left=np.nan, right=np.nan)  # noqa: E731
        # the frames whose activations say each true beat: its own, `beat_lag` frames on
        at_beats = np.ceil(tb * fps - 1e-9).astype(int) - 1 + tracker.lag
        ok = (at_beats >= MIN_TIME_S * fps) & (at_beats < len(b) - 1)
        peak = lambda x, f: np.max(x[f - 1: f + 2])  # noqa: E731  (the +-1 frame the loss tolerates)
        which = (np.arange(len(tb)) - (first[0] if len(first) else 0)) % meter
        by_beat = [np.mean([peak(d, f) for f in at_beats[ok & (which == k)]]) if np.any(ok & (which == k))
                   else np.nan for k in range(meter)]
        # halfway between two true beats (the off-beat eighth): as high as on the beats, and the
        # tracker cannot tell the beat from the eighth note (double tempo or the off-beat phase)
        half = (at_beats[:-1] + at_beats[1:]) // 2
        half = half[(half >= MIN_TIME_S * fps) & (half < len(b) - 1)]
        off = np.ones(len(b), bool)
        for f in np.concatenate([at_beats, half]):
            off[max(0, f - 3): f + 4] = False
        off[: int(MIN_TIME_S * fps)] = False
        pos = on(beats)
        lands = np.round((on(downs) - (first[0] if len(first) else 0)) % meter, 1)
        print(f"{name[:20]:>20} {meter:>2} {60 / np.median(np.diff(tb)):6.1f} {np.median(tempo[int(MIN_TIME_S * fps):]):6.1f} "
              f"{beat_f(tb, beats, MIN_TIME_S):6.3f} {beat_f(tdb, downs, MIN_TIME_S):6.3f} "
              f"{np.nanmedian(np.round(pos) - pos) if np.any(np.isfinite(pos)) else np.nan:6.2f}  "
              f"{str(lands[~np.isnan(lands)][:6].tolist()):<34} {str(np.round(by_beat, 2).tolist()):<26} "
              f"{np.mean([peak(b, f) for f in at_beats[ok]]):.2f} / {np.mean([peak(b, f) for f in half]):.2f} / "
              f"{np.mean(b[off]):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--set", choices=("val", "dev", "eval"), default="val")
    ap.add_argument("--songs", type=int, default=8, help="procedural songs (--set val or eval)")
    ap.add_argument("--per-song", action="store_true", help="why each song fails (the module docstring)")
    ap.add_argument("--dev-set", type=Path, default=Path("results/dev_set"))
    ap.add_argument("--cache", type=Path, default=Path("runs/tracker_cache"))
    ap.add_argument("grid", nargs="*", help="KEY=V1,V2 ... over TrackerConfig fields")
    args = ap.parse_intermixed_args()
    torch.set_num_threads(1)
    acts, truths, names, cfg = activations(args.checkpoint, args.set, args.songs, args.dev_set, args.cache)
    grid: list[dict[str, float]] = [{}]
    for arg in args.grid:
        key, values = arg.split("=")
        grid = [dict(g, **{key: float(v)}) for g in grid for v in values.split(",")]
    for g in grid:
        tcfg = dataclasses.replace(cfg.tracker, **g)
        tracker = build("tracker", tcfg.name, fps=cfg.fps, cfg=tcfg, lag=cfg.beat_lag)
        if args.per_song:
            print(g or "checkpoint's tracker")
            per_song(tracker, cfg.fps, acts, truths, names)
            continue
        r = score(tracker, cfg.fps, acts, truths)
        print(g or "checkpoint's tracker", "beat F %.3f downbeat F %.3f" % tuple(r.mean(0)),
              "per song:", np.round(r[:, 0], 2).tolist(), flush=True)


if __name__ == "__main__":
    main()
