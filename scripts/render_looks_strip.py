"""Render docs/img/looks_strip.png: the looks drawn from what the hearing model heard in a recording.

One row per look, eight frames of the same recorded (not procedural) audio file, each frame
through the very path of the live window and `synesthete-render` (features -> the shipped hearing
model -> music state -> look -> post effects), at a 16:9 render size. Usage:

    uv run --locked python scripts/render_looks_strip.py AUDIO [--start 8] [--out docs/img/looks_strip.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("audio", type=Path, help="a recorded audio file (wav, flac, mp3, ...)")
    p.add_argument("--out", type=Path, default=Path("docs/img/looks_strip.png"))
    p.add_argument("--start", type=float, default=8.0, help="seconds into the file of the first frame")
    p.add_argument("--step", type=float, default=0.25, help="seconds between frames")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--looks", nargs="*", default=["rings", "tunnel", "plasma", "kaleidoscope", "lattice", "flow"])
    p.add_argument("--size", default="240x135", help="each frame WxH")
    args = p.parse_args()
    torch.set_num_threads(1)

    from synesthete.audio_file import read_model_audio
    from synesthete.performer import Performer, load_hearing

    w, h = (int(v) for v in args.size.split("x"))
    hearing, label = load_hearing(None)
    sr, fps = int(hearing.cfg.sample_rate), int(hearing.cfg.fps)
    audio = read_model_audio(args.audio, sr)
    picks = {int(round((args.start + k * args.step) * fps)) for k in range(args.frames)}
    end = (max(picks) + 2) * (sr // fps)
    if audio.size < end:
        raise SystemExit(f"{args.audio}: shorter than {end / sr:.1f} s")
    rows = []
    for look in args.looks:
        perf = Performer(hearing, render_size=(h, w), looks=[look])
        frames = perf.process(audio[:end], perf.new_controls(), draw=lambda i: i in picks)
        row = [f.image for f in frames if f.image is not None]
        rows.append(np.concatenate([np.pad(im, ((2, 2), (2, 2), (0, 0))) for im in row], axis=1))
        print(f"{look}: {len(row)} frames", flush=True)
    strip = np.concatenate(rows, axis=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({strip.shape[1]}x{strip.shape[0]}): {args.audio.name} from {args.start:g} s, "
          f"every {args.step:g} s, hearing {label}")


if __name__ == "__main__":
    main()
