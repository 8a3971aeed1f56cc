"""How often each bass chroma vector alone names the chord root: no model, no training.

Renders held-out procedural songs (seeds 10000+ as `synesthete-eval --hearing` does, or from
--seed-base, e.g. 20000 for the trainer's validation songs: room mic
through `MicAugment` with each seed's own draw, and clean), extracts the features of
`n_chroma = 48` and, per frame after 4 s, compares the loudest class of the folded bass vector
(30-160 Hz, features 66:78) and of the bass salience vector (the last 12) with the score's chord
root. Prints the share of frames each names right (all frames, and held chords: 30+ frames after
a change) and how often each names the fifth (+7) or the fourth (+5) above the root instead
(docs/model.md, "Bass salience"). ~25 s for 16 songs on one core.

    uv run --locked python scripts/bass_chroma_check.py [--seeds 16] [--seed-base 10000]
"""

from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace

import numpy as np
import torch

from synesthete.features import FeatureExtractor
from synesthete.constants import HELD_OUT_SEED_BASE
from synesthete.hearing_evaluation import MIN_TIME_S, procedural_items

SR, FPS, N_MELS = 24_000, 60, 64


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--seed-base", type=int, default=HELD_OUT_SEED_BASE)
    p.add_argument("--duration", type=float, default=12.0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    fx = FeatureExtractor(SR, FPS, n_mels=N_MELS, n_chroma=48, chroma_fft=8192)
    vectors = {"folded bass": slice(N_MELS + 2, N_MELS + 14), "bass salience": slice(-12, None)}
    for name, augment in (("room mic", True), ("clean", False)):
        items = procedural_items(SimpleNamespace(sample_rate=SR, fps=FPS), range(args.seed_base, args.seed_base + args.seeds), args.duration,
                                 augment=augment)
        hits = {v: [] for v in vectors}  # per vector: (interval of its loudest class above the root, held chord?)
        for item in items:
            feats = fx.extract(torch.from_numpy(item.audio))[0].numpy()
            root = np.rint(item.truth_state.chord_root[: len(feats)]).astype(int) % 12
            change = np.maximum.accumulate(np.where(np.diff(root, prepend=-1) != 0, np.arange(len(root)), 0))
            held = np.arange(len(root)) - change >= 30
            keep = (np.arange(len(root)) + 1) / FPS >= MIN_TIME_S
            for v, cols in vectors.items():
                interval = (feats[:, cols].argmax(axis=-1) - root) % 12
                hits[v].append(np.stack([interval[keep], held[keep]]))
        print(f"== {name}, songs {args.seed_base}-{args.seed_base + args.seeds - 1} x {args.duration:g} s, frames after {MIN_TIME_S:g} s")
        for v in vectors:
            interval, held = np.concatenate(hits[v], axis=1)
            print(f"   {v:>14}: right {np.mean(interval == 0):.3f} (held chords {np.mean(interval[held == 1] == 0):.3f}), "
                  f"a fifth above {np.mean(interval == 7):.3f}, a fourth above {np.mean(interval == 5):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
