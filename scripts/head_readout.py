"""What the checkpoint's memory knows about the rhythm and harmony, read from its auxiliary heads.

On the held-out songs of `synesthete-eval` (seeds 10000 and up), it runs the model over each
song and compares its heads with the score, frame by frame:

* beat: share of frames whose beat-phase estimate (atan2 of the head's sin, cos) is within 1/8 of a
  beat of the truth (chance: 25 %);
* bar (models with `bar_head`): share within 1/8 of a bar, i.e. half a beat (chance: 25 %);
* chord (models with `chord_head`): share of frames whose most likely root is the sounding one
  (chance: 8 %);
* for scale, two chord readers without learning, on the model's chroma features (models with
  `n_chroma`): the loudest pitch class (of the bass vector, with `n_chroma = 24`), and the best
  triad template (root + major or minor third + fifth) over the (harmony) chroma bins.

Also per second of the songs, to show how long the memory takes to lock on. Usage:

    uv run python scripts/head_readout.py [--checkpoint PATH] [--seeds 16]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch


def phase_error(head: torch.Tensor, truth: np.ndarray) -> np.ndarray:
    """|estimate - truth| on the circle, in cycles (0 .. 0.5); head (T, 2) = (sin, cos)."""
    estimate = (torch.atan2(head[:, 0], head[:, 1]) / (2 * math.pi)).numpy() % 1.0
    return np.abs((estimate - truth + 0.5) % 1.0 - 0.5)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="pixel model checkpoint (default: the shipped neural.pt)")
    p.add_argument("--seeds", type=int, default=16, help="held-out songs (default 16)")
    p.add_argument("--duration", type=float, default=8.0, help="seconds per song (default 8)")
    args = p.parse_args()
    torch.set_num_threads(2)

    from synesthete.checkpoint import load_model
    from synesthete.constants import HELD_OUT_SEED_BASE as SEED_BASE
    from synesthete.evaluation import procedural_song, style_controls
    from synesthete.features import FeatureExtractor

    model = load_model(args.checkpoint, kind="pixel")
    model.eval()
    cfg = model.cfg
    if model.heads is None:
        raise SystemExit("this checkpoint has no auxiliary heads to read")
    fx = FeatureExtractor.for_model(cfg)
    hits: dict[str, list[np.ndarray]] = {"beat": [], "bar": [], "chord": [], "loudest class": [],
                                         "triad template": []}
    for i in range(args.seeds):
        audio, ctrl, _ = procedural_song(cfg, SEED_BASE + i, args.duration)
        feats = fx.extract(torch.from_numpy(audio)[None])  # (1, T, F)
        controls = style_controls(cfg, cfg.styles[i % len(cfg.styles)], feats.shape[1])[None]
        with torch.no_grad():
            _, aux = model(feats, controls, return_aux=True)
        hits["beat"].append(phase_error(aux["beat"][0], ctrl.beat_phase) < 0.125)
        if "bar" in aux:
            hits["bar"].append(phase_error(aux["bar"][0], ctrl.bar_phase) < 0.125)
        root = np.rint(ctrl.chord_root).astype(int) % 12
        if "chord" in aux:
            hits["chord"].append(aux["chord"][0].argmax(-1).numpy() == root)
        if cfg.n_chroma:
            vectors = feats[0, :, -cfg.n_chroma:].unflatten(-1, (-1, 12)).numpy()  # (T, 1 or 2, 12), C = 0
            hits["loudest class"].append(vectors[:, 0].argmax(-1) == root)  # the bass vector first
            chroma = vectors[:, -1]  # the harmony vector last
            triads = [chroma + np.roll(chroma, -third, axis=-1) + np.roll(chroma, -7, axis=-1) for third in (3, 4)]
            hits["triad template"].append(np.maximum(*triads).argmax(-1) == root)
    seconds = int(args.duration)
    for name, rows in hits.items():
        if not rows:
            continue
        h = np.stack(rows)  # (songs, T)
        per_second = [float(h[:, s * cfg.fps:(s + 1) * cfg.fps].mean()) for s in range(seconds)]
        print(f"{name:>14}: {100 * h.mean():.1f} % of frames right; per second "
              + " ".join(f"{100 * v:.0f}" for v in per_second))


if __name__ == "__main__":
    main()
