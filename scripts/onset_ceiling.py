"""How well can the onsets be heard at all? A ceiling for the onset heads, by look-ahead.

The shipped heads decide each hit on the frame whose audio holds it (a causal, zero-latency
decision) and reach kick / snare F ~0.60 / ~0.41 on the engine's held-out songs through the room
mic, against targets of 0.90. This probe asks whether that decision is the obstacle. It trains
onset-only temporal conv nets (8 residual blocks, 128 wide, ~1 s receptive field; ~0.5 M
parameters, 4x the whole hearing model) on the model's own features of engine clips rendered as
the recipe's (80 % room mic), with the decision made L frames after the hit's frame (L = 0, 1, 2,
...), or non-causally ("bi": half a second either side). Every variant is then read like the
shipped checkpoint, which is scored beside them as the anchor:

* each stem's hits by the live detector's rule (`onset_hits_over_thresholds`), a hit's time the
  instant of the frame that decided it (causal: when it was known, L frames late); "back-dated"
  also prints the time of the hit's own frame (what an offline transcriber would write);
* the threshold per stem chosen on validation songs (30000 and up), F (mir_eval, +-50 ms, after
  4 s) on held-out songs (10000 and up), both room-mic augmented as `synesthete-eval`.

    uv run --locked python scripts/onset_ceiling.py [--train-clips 2000] [--steps 4000] [--look 0,1,2,bi]

Renders and features are cached under --cache (the first run renders them: ~17 s per 100 clips of 8 s on one core).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from synesthete.constants import STEMS

REPORT = ("kick", "snare", "hat_closed", "bass")
GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


class Block(nn.Module):
    def __init__(self, width: int, dilation: int, causal: bool) -> None:
        super().__init__()
        self.pad = (2 * dilation, 0) if causal else (dilation, dilation)
        self.conv = nn.Conv1d(width, width, 3, dilation=dilation)
        self.mix = nn.Conv1d(width, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(F.gelu(self.conv(F.pad(x, self.pad))))


class Transcriber(nn.Module):
    """(B, T, F) features -> (B, T, stems) onset logits; causal (left padding) or centred."""

    def __init__(self, n_in: int, n_out: int, causal: bool, width: int = 128) -> None:
        super().__init__()
        self.inp = nn.Conv1d(n_in, width, 1)
        self.blocks = nn.Sequential(*(Block(width, d, causal) for d in (1, 2, 4, 8, 1, 2, 4, 8)))
        self.out = nn.Conv1d(width, n_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.gelu(self.blocks(self.inp(x.transpose(1, 2))))).transpose(1, 2)


def training_clips(fx, n: int, cache: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (n, T, F) float16, hits (n, T, stems) bool) of n recipe-like clips of 8 s."""
    path = cache / f"train_{n}.pt"
    if path.exists():
        d = torch.load(path)
        return d["x"], d["y"]
    from synesthete.data import HearingClips, HearingDataConfig

    data = HearingClips(HearingDataConfig(clip_seconds=8.0, augment_prob=0.8, seed=4242))
    xs, ys = [], []
    t0 = time.monotonic()
    for i in range(n):
        it = data.make_item(i)
        hits = it["state.onset"] > 0
        xs.append(fx.extract(torch.as_tensor(it["audio"])[None])[0, : hits.shape[0]].half())
        ys.append(hits)
        if (i + 1) % 100 == 0:
            print(f"  rendered {i + 1}/{n} training clips ({time.monotonic() - t0:.0f} s)", flush=True)
    x, y = torch.stack(xs), torch.stack(ys)
    torch.save({"x": x, "y": y}, path)
    return x, y


def items(cfg, seeds: list[int], cache: Path, name: str) -> list:
    path = cache / f"{name}.pt"
    if path.exists():
        return torch.load(path, weights_only=False)
    from synesthete.hearing_evaluation import procedural_items

    out = procedural_items(cfg, seeds, 16.0, augment=True)
    torch.save(out, path)
    return out


def hit_frames_to_f(values: list[np.ndarray], truths: list, fps: float, delay: int) -> np.ndarray:
    """(G, stems in REPORT) mean F over items at each threshold of GRID; values (T, stems) per item;
    a hit decided on frame t is timed (t + 1 - delay) / fps."""
    from synesthete.metrics.hearing import onset_f
    from synesthete.music_events import onset_hits_over_thresholds

    cols = [STEMS.index(s) for s in REPORT]
    total = np.zeros((len(GRID), len(REPORT)))
    count = np.zeros(len(REPORT))
    for v, truth in zip(values, truths):
        hits = onset_hits_over_thresholds(v[:, cols], GRID, fps)  # (G, T, R)
        for r, s in enumerate(REPORT):
            ref = truth.onsets[s][0]
            if not np.count_nonzero(ref >= 4.0):
                continue
            count[r] += 1
            for g in range(len(GRID)):
                est = (np.flatnonzero(hits[g, :, r]) + 1 - delay) / fps
                total[g, r] += onset_f(ref, est, min_time=4.0)
    return total / np.maximum(count, 1)


def report(name: str, val: np.ndarray, test: np.ndarray, fixed: np.ndarray | None = None) -> str:
    pick = val.argmax(0)
    cells = [f"{test[pick[r], r]:.3f} (thr {GRID[pick[r]]:.2f})" for r in range(len(REPORT))]
    line = f"| {name} | " + " | ".join(cells) + " |"
    if fixed is not None:
        line += " own thresholds: " + " / ".join(f"{f:.3f}" for f in fixed)
    return line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train-clips", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--look", default="0,1,2,bi", help="decision delays in frames, or bi (non-causal)")
    ap.add_argument("--val-songs", type=int, default=32)
    ap.add_argument("--test-songs", type=int, default=64)
    ap.add_argument("--cache", default="runs/onset_ceiling")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)

    from synesthete.analysis import hear
    from synesthete.checkpoint import load_model
    from synesthete.constants import HELD_OUT_SEED_BASE
    from synesthete.features import FeatureExtractor
    from synesthete.music_events import detector_config
    from synesthete_train.hearing import tolerant_onset_loss

    model = load_model(None, kind="hearing").eval()
    cfg = model.cfg
    fps = float(cfg.fps)
    fx = FeatureExtractor.for_model(cfg)
    val = items(cfg, [30_000 + i for i in range(args.val_songs)], cache, f"val_{args.val_songs}")
    test = items(cfg, [HELD_OUT_SEED_BASE + i for i in range(args.test_songs)], cache, f"test_{args.test_songs}")
    print(f"{len(val)} validation and {len(test)} held-out songs of 16 s (room mic)", flush=True)

    header = "| reader | " + " | ".join(REPORT) + " |"
    lines = [header, "|" + "---|" * (len(REPORT) + 1)]
    with torch.no_grad():
        v_val = [hear(model, it.audio).onset for it in val]
        v_test = [hear(model, it.audio).onset for it in test]
    thr = np.asarray(detector_config(cfg).stem_thresholds)
    own = []
    from synesthete.metrics.hearing import onset_f
    from synesthete.music_events import onset_hits_over_thresholds

    for r, s in enumerate(REPORT):
        j = STEMS.index(s)
        fs = [onset_f(it.truth.onsets[s][0], (np.flatnonzero(onset_hits_over_thresholds(v[:, [j]], [thr[j]], fps)[0, :, 0]) + 1) / fps,
                      min_time=4.0) for v, it in zip(v_test, test) if np.count_nonzero(it.truth.onsets[s][0] >= 4.0)]
        own.append(float(np.mean(fs)))
    lines.append(report("shipped network (causal, its own frame)", hit_frames_to_f(v_val, [i.truth for i in val], fps, 0),
                        hit_frames_to_f(v_test, [i.truth for i in test], fps, 0), np.asarray(own)))
    print(lines[-1], flush=True)

    x, y = training_clips(fx, args.train_clips, cache)
    mu = x.float().mean((0, 1))
    sd = x.float().std((0, 1)) + 1e-4
    xv = [((fx.extract(torch.as_tensor(it.audio)[None])[0] - mu) / sd) for it in val]
    xt = [((fx.extract(torch.as_tensor(it.audio)[None])[0] - mu) / sd) for it in test]
    crop = 240
    for look in args.look.split(","):
        bi = look == "bi"
        delay = 0 if bi else int(look)
        net = Transcriber(x.shape[-1], len(STEMS), causal=not bi)
        opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=args.steps, pct_start=0.05)
        t0 = time.monotonic()
        g = torch.Generator().manual_seed(1)
        for step in range(args.steps):
            idx = torch.randint(0, x.shape[0], (args.batch,), generator=g)
            start = int(torch.randint(0, x.shape[1] - crop, (1,), generator=g))
            xb = (x[idx, start : start + crop].float() - mu) / sd
            yb = y[idx, start : start + crop].float()
            if delay:  # the target of frame t is the hit of frame t - delay
                yb = torch.cat([torch.zeros_like(yb[:, :delay]), yb[:, :-delay]], 1)
            loss = tolerant_onset_loss(net(xb), yb, 4.0, 0.0, 1, None)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            if (step + 1) % 500 == 0:
                print(f"  look {look}: step {step + 1}/{args.steps} loss {loss.item():.4f} "
                      f"({time.monotonic() - t0:.0f} s)", flush=True)
        net.eval()
        with torch.no_grad():
            pv = [torch.sigmoid(net(a[None]))[0].numpy() for a in xv]
            pt = [torch.sigmoid(net(a[None]))[0].numpy() for a in xt]
        truths_v, truths_t = [i.truth for i in val], [i.truth for i in test]
        name = "non-causal (+-0.5 s)" if bi else f"decided {delay} frame(s) after the hit's, timed then"
        lines.append(report(name, hit_frames_to_f(pv, truths_v, fps, 0), hit_frames_to_f(pt, truths_t, fps, 0)))
        print(lines[-1], flush=True)
        if delay:
            lines.append(report(f"decided {delay} frame(s) after, back-dated to the hit's frame",
                                hit_frames_to_f(pv, truths_v, fps, delay), hit_frames_to_f(pt, truths_t, fps, delay)))
            print(lines[-1], flush=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
