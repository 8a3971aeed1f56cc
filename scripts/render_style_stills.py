"""Render the still frames (and beat strips) shown in docs/visualizers.md, and measure style speeds.

    .venv/bin/python scripts/render_style_stills.py            # stills into docs/img/styles/
    .venv/bin/python scripts/render_style_stills.py --bench    # also print the speed table
    .venv/bin/python scripts/render_style_stills.py --bench --no-stills

Controls come from the real music engine: style i draws a clip from the drop of piece seed + i
(different pieces, so different chords and colours); the still is the frame of that clip with the
most going on (a kick with a snare, high energy), so each picture shows its style reacting. The
strip is 8 consecutive frames (96x96) from 2 frames before that hit. If the engine is missing, a
synthetic 120 BPM groove stands in (and the script says so).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synesthete.music_state import MusicState  # noqa: E402
from synesthete.constants import STEMS  # noqa: E402
from synesthete.visual import STYLE_NAMES, get_style  # noqa: E402
from synesthete.visual.synthetic import groove_controls  # noqa: E402

FPS = 30


def clip_controls(seed: int, seconds: float) -> tuple[MusicState, str]:
    try:
        from synesthete.audio.engine import render_clip
    except ImportError:
        return groove_controls(int(seconds * FPS), fps=FPS, energy=0.85), "synthetic 120 BPM groove (engine missing)"
    clip = render_clip(seed, seconds, section="drop")
    return clip.score.music_state(FPS, int(seconds * FPS)), f"render_clip(seed={seed}, {seconds} s, section='drop')"


def lively_frame(ctrl: MusicState) -> int:
    """The frame with the most musical action: kick + snare envelopes, lead, energy."""
    env = ctrl.env
    score = env[:, STEMS.index("kick")] + env[:, STEMS.index("snare")] + 0.5 * env[:, STEMS.index("lead")] + ctrl.energy
    return int(np.argmax(score[8:])) + 8  # leave room for the strip before it


def save_png(frame: torch.Tensor, path: Path) -> None:
    import cv2

    rgb = (frame.permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)  # (H, W, 3)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def render_stills(out_dir: Path, seed: int, size: int) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(STYLE_NAMES):
        ctrl, source = clip_controls(seed + i, 4.0)
        t = lively_frame(ctrl)
        print(f"{name}: {source}; still at frame {t} (energy {ctrl.energy[t]:.2f}, chord root {ctrl.chord_root[t]:.0f})")
        style = get_style(name)
        save_png(style.render(ctrl.slice(t, t + 1), size, size)[0], out_dir / f"{name}.png")
        strip = style.render(ctrl.slice(t - 2, t + 6), 96, 96)  # (8, 3, 96, 96) around the hit
        save_png(torch.cat(list(strip), dim=2), out_dir / f"{name}_strip.png")
        print(f"  wrote {name}.png and {name}_strip.png")


def bench(n_frames: int = 120, repeats: int = 7) -> None:
    torch.set_num_threads(1)
    ctrl = groove_controls(n_frames, fps=FPS, energy=0.8)
    print("\n| style | frames/s 64x64 | frames/s 128x128 | frames/s 256x256 |\n|---|---:|---:|---:|")
    for name in STYLE_NAMES:
        style, row = get_style(name), []
        for size in (64, 128, 256):
            style.render(ctrl, size, size)  # warm the grid cache and the allocator
            best = min(_timed(style, ctrl, size) for _ in range(repeats))
            row.append(f"{n_frames / best:,.0f}")
        print(f"| {name} | " + " | ".join(row) + " |")


def _timed(style, ctrl: MusicState, size: int) -> float:
    t0 = time.perf_counter()
    style.render(ctrl, size, size)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "styles")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--bench", action="store_true", help="also print frames/s per style on one thread")
    ap.add_argument("--no-stills", action="store_true", help="skip rendering the stills (with --bench)")
    args = ap.parse_args()
    if not args.no_stills:
        render_stills(args.out, args.seed, args.size)
    if args.bench:
        bench()


if __name__ == "__main__":
    main()
