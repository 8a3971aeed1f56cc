"""Render docs/img/strip.png: the model's frames next to the teacher's on held-out music.

Each pair of rows is one held-out song drawn in one style: the teacher on top, the model below,
eight frames a quarter-beat-ish apart. Usage (from the repository root):

    uv run python scripts/render_strip.py [--checkpoint PATH] [--out docs/img/strip.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="pixel model checkpoint (default: the shipped neural.pt)")
    p.add_argument("--out", type=Path, default=Path("docs/img/strip.png"))
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--styles", nargs="*", default=["tunnel", "plasma", "kaleidoscope", "rings"])
    p.add_argument("--frames", type=int, default=8)
    args = p.parse_args()
    torch.set_num_threads(2)

    from synesthete.checkpoint import load_model
    from synesthete.evaluation import model_frames
    from synesthete_train.evaluation import make_held_out

    model = load_model(args.checkpoint, kind="pixel")
    cfg = model.cfg
    clips = make_held_out(cfg, len(cfg.styles), 1_000_000, 3.0, args.size).items
    rows = []
    for clip in clips:
        if clip.style not in args.styles:
            continue
        frames = model_frames(model, clip.audio, clip.style, args.size, "cpu")
        pick = np.linspace(clip.teacher.shape[0] // 3, clip.teacher.shape[0] - 1, args.frames).astype(int)
        for name, video in (("teacher", clip.teacher), ("model", frames)):
            tiles = [(video[i].clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8) for i in pick]
            row = np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0))) for t in tiles], axis=1)
            label = np.zeros((row.shape[0], 130, 3), np.uint8)
            cv2.putText(label, f"{clip.style}", (6, row.shape[0] // 2 - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                        (255, 255, 255), 1, cv2.LINE_AA)
            cv2.putText(label, name, (6, row.shape[0] // 2 + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                        (170, 170, 170), 1, cv2.LINE_AA)
            rows.append(np.concatenate([label, row], axis=1))
    image = np.concatenate(rows, axis=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({image.shape[1]}x{image.shape[0]})")


if __name__ == "__main__":
    main()
