"""On which frame can a hit be told from the other stems' onsets? A probe of the features alone.

Renders procedural clips (training-like: 80 % room-mic augmented) and held-out ones (clean and
room mic), then per stem trains a small MLP on two consecutive frames of features to tell the
frames of that stem's hits from the frames of other stems' onsets (no hit of the stem within +-2
frames), once on the hit's own frame and once on the frame after it, and prints the held-out
ROC AUC. docs/training.md ("Onset false hits") has the figures that motivated loss.onset_shift and
model.window_fall: on its own frame a kick reads AUC 0.74 clean, on the next 0.98.

    uv run --locked python scripts/onset_separability.py [--clips 100] [--window-fall 64] [--band-flux 64]
"""

from __future__ import annotations

import argparse
import functools
import sys

import numpy as np
import torch
import torch.nn.functional as F

from synesthete.constants import STEMS
from synesthete.data import HearingClips, HearingDataConfig
from synesthete.features import FeatureExtractor


@functools.lru_cache(maxsize=None)
def rendered(seed: int, n: int, augment: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(audio (n, S), hits (n, T, stems)) of n clips of 8 s, rendered once per process (the
    variants of one `main` call hear the same clips)."""
    data = HearingClips(HearingDataConfig(clip_seconds=8.0, augment_prob=augment, seed=seed))
    items = [data.make_item(i) for i in range(n)]
    return (torch.stack([torch.as_tensor(it["audio"]) for it in items]),
            torch.stack([(it["state.onset"] > 0).float() for it in items]))


def clips(fx: FeatureExtractor, seed: int, n: int, augment: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (n, T, F), hits (n, T, stems)) of n clips of 8 s."""
    audio, hits = rendered(seed, n, augment)
    return fx.extract(audio)[:, : hits.shape[1]], hits


def frames(x: torch.Tensor, hits: torch.Tensor, stem: int, late: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two-frame features [x_t, x_{t-1}] and labels: the stem's hit frames (shifted `late` frames)
    against other stems' onset frames with no hit of this stem within +-2 frames."""
    own = hits[..., stem] > 0
    near = F.max_pool1d(own.float()[:, None], 5, 1, 2)[:, 0] > 0
    pos = torch.roll(own, late, 1)
    use = pos | ((hits > 0).any(-1) & ~near)
    use[:, :2] = False
    return torch.cat([x, torch.roll(x, 1, 1)], -1)[use], pos[use].float()


def auc(score: np.ndarray, label: np.ndarray) -> float:
    rank = np.empty(len(score))
    rank[np.argsort(score)] = np.arange(1, len(score) + 1)
    p, n = (label > 0).sum(), (label == 0).sum()
    return float((rank[label > 0].sum() - p * (p + 1) / 2) / max(1, p * n))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=100, help="training clips of 8 s (16 held out)")
    ap.add_argument("--window-fall", type=int, default=0)
    ap.add_argument("--band-flux", type=int, default=0)
    ap.add_argument("--fast-mels", type=int, default=0, help="the fast block's bands (model.fast_mels)")
    ap.add_argument("--fast-fft", type=int, default=800, help="the fast block's window (model.fast_fft)")
    ap.add_argument("--fast-shape", default="rise", help="the fast block's window shape (flat, rise, hann)")
    ap.add_argument("--stems", default="kick,snare,bass")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    fx = FeatureExtractor(24_000, 60, band_flux=args.band_flux, window_fall=args.window_fall,
                          fast_mels=args.fast_mels, fast_fft=args.fast_fft, fast_shape=args.fast_shape)
    train = clips(fx, 1, args.clips, 0.8)
    tests = {"clean": clips(fx, 777, 16, 0.0), "room mic": clips(fx, 777, 16, 1.0)}
    for stem in args.stems.split(","):
        j = STEMS.index(stem)
        for late in (0, 1):
            x, y = frames(*train, j, late)
            mu, sd = x.mean(0), x.std(0) + 1e-6
            net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 128), torch.nn.GELU(), torch.nn.Linear(128, 1))
            opt = torch.optim.Adam(net.parameters(), 3e-3, weight_decay=1e-4)
            for _ in range(400):
                loss = F.binary_cross_entropy_with_logits(net((x - mu) / sd)[:, 0], y)
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                res = {name: auc(net((tx - mu) / sd)[:, 0].numpy(), ty.numpy())
                       for name, (tx, ty) in ((k, frames(*v, j, late)) for k, v in tests.items())}
            where = "the hit's own frame" if late == 0 else "the frame after it"
            print(f"{stem:>10} on {where:<19}: AUC vs other onsets " + ", ".join(f"{k} {v:.3f}" for k, v in res.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
