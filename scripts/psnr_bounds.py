"""How far PSNR against the teacher can go when a model does not know the bar or the chord.

On the held-out songs of `synesthete-eval --seeds N` (same seeds, styles, length and quiet tail),
it scores the checkpoint and a set of *oracle* pictures built from the true score, each missing
one thing a listener may not hear:

* `flat colour`: a flat image of each frame's true mean colour (no shapes at all);
* `model + true colour`: the model's frames with their mean colour moved to the teacher's;
* `beat 0.05 late`: the teacher drawn 0.05 beat late (how much a small timing error costs);
* `64px upsampled`: the teacher drawn at 64x64 and resized (what a 64x64 decoder gives up);
* `bar 1 beat off`: the teacher drawn one beat off in the bar (a confident wrong downbeat);
* `bar unknown`: the mean of the teacher drawn at all 4 beats of the bar (the best squared-error
  picture for a model that knows the beat but not which beat of the bar it is);
* `root unknown`: the mean over the 12 chord roots (knows everything but the chord's root);
* `both unknown`: the mean over 6 roots (every other pitch class) x 4 bar positions.

Everything else in the oracles is exact, so each is an upper bound for a model that lacks that
one piece of knowledge. Usage (from the repository root; ~3 min for 8 songs on 2 cores):

    uv run python scripts/psnr_bounds.py [--checkpoint PATH] [--seeds 8] [--json PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

COLUMNS = ("model", "flat colour", "model + true colour", "beat 0.05 late", "64px upsampled", "bar 1 beat off",
           "bar unknown", "root unknown", "both unknown")


def shifted(ctrl, root: int = 0, beats: int = 0, late: float = 0.0):
    """The controls with the chord root moved by `root` semitones, the bar by `beats` beats and
    the beat phase `late` beats behind."""
    from synesthete.audio.composer import BEATS_PER_BAR

    return dataclasses.replace(
        ctrl, chord_root=np.mod(ctrl.chord_root + root, 12).astype(np.float32),
        bar_phase=np.mod(ctrl.bar_phase + beats / BEATS_PER_BAR, 1.0).astype(np.float32),
        beat_phase=np.mod(ctrl.beat_phase - late, 1.0).astype(np.float32))


def song_bounds(model, seed: int, index: int, duration: float, tail: float, size: int) -> dict[str, float]:
    from synesthete.evaluation import model_frames, procedural_song
    from synesthete.metrics.reconstruction import psnr
    from synesthete.visual.teacher import render_teacher

    cfg = model.cfg
    style = cfg.styles[index % len(cfg.styles)]  # the style synesthete-eval draws song `index` in
    audio, ctrl, _ = procedural_song(cfg, seed, duration, tail)

    def draw(c, px: int = size) -> torch.Tensor:
        return render_teacher(c, {style: 1.0}, px, px, reactivity=1.0)

    target = draw(ctrl)

    def mean_of(pictures) -> torch.Tensor:
        total = None
        count = 0
        for c in pictures:
            frames = draw(c)
            total = frames if total is None else total.add_(frames)
            count += 1
        return total.div_(count)

    frames = model_frames(model, audio, style, size, "cpu")
    true_colour = target.mean(dim=(2, 3), keepdim=True)  # (T, 3, 1, 1)
    recoloured = (frames - frames.mean(dim=(2, 3), keepdim=True) + true_colour).clamp_(0.0, 1.0)
    return {
        "style": style,
        "model": psnr(frames, target),
        "flat colour": psnr(true_colour.expand_as(target), target),
        "model + true colour": psnr(recoloured, target),
        "beat 0.05 late": psnr(draw(shifted(ctrl, late=0.05)), target),
        "64px upsampled": psnr(F.interpolate(draw(ctrl, 64), size=(size, size), mode="bilinear", align_corners=False), target),
        "bar 1 beat off": psnr(draw(shifted(ctrl, beats=1)), target),
        "bar unknown": psnr(mean_of(shifted(ctrl, beats=b) for b in range(4)), target),
        "root unknown": psnr(mean_of(shifted(ctrl, root=r) for r in range(12)), target),
        "both unknown": psnr(mean_of(shifted(ctrl, root=r, beats=b) for r in range(0, 12, 2) for b in range(4)), target),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="pixel model checkpoint (default: the shipped neural.pt)")
    p.add_argument("--seeds", type=int, default=8, help="held-out songs, one per style in turn (default 8)")
    p.add_argument("--seed-base", type=int, default=None, help="first held-out seed (default: synesthete-eval's)")
    p.add_argument("--duration", type=float, default=8.0, help="seconds of music per song (default 8)")
    p.add_argument("--size", type=int, default=128, help="frame size (default 128, the target's)")
    p.add_argument("--json", type=Path, default=None, help="also write the per-song figures here")
    args = p.parse_args()
    torch.set_num_threads(2)

    from synesthete.checkpoint import load_model
    from synesthete.constants import HELD_OUT_SEED_BASE as SEED_BASE
    from synesthete.evaluation import QUIET_TAIL_S

    base = SEED_BASE if args.seed_base is None else args.seed_base
    model = load_model(args.checkpoint, kind="pixel")
    model.eval()
    rows = []
    for i in range(args.seeds):
        row = song_bounds(model, base + i, i, args.duration, QUIET_TAIL_S, args.size)
        rows.append(row)
        print(f"seed {base + i} {row['style']:>12}: " + "  ".join(f"{k} {row[k]:.2f}" for k in COLUMNS),
              flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in COLUMNS}
    print("mean PSNR (dB): " + "  ".join(f"{k} {v:.2f}" for k, v in mean.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"songs": rows, "mean": mean}, indent=2))


if __name__ == "__main__":
    main()
