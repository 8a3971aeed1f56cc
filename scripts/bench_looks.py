"""Per-look drawing cost of one frame at live render sizes (one thread), for docs/visualizers.md.

    uv run --locked python scripts/bench_looks.py [--frames 24]

Draws each registered style look from the music state of a procedural song, one frame at a time
as the live performer does (draw + conversion to uint8), and prints the median CPU time per frame
(thread time: what the frame costs this thread, less sensitive to other jobs on a shared box than
wall time) at 480x270, 640x360, 960x540 and 1280x720, with the CPU model and vector flags.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np
import torch

SIZES = ((270, 480), (360, 640), (540, 960), (720, 1280))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=24, help="frames per look and size (default 24)")
    args = p.parse_args()
    torch.set_num_threads(1)
    from synesthete.audio.engine import render_clip
    from synesthete.looks import build_look
    from synesthete.post_effects import to_uint8
    from synesthete.visual import STYLE_NAMES

    state = render_clip(3, 4.0).score.music_state(60, 240)
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    flags = sorted(set(re.findall(r"\b(avx512[a-z_0-9]*|avx2|amx[a-z_]*)\b", text)))
    print(f"CPU {model.group(1) if model else '?'}; flags {' '.join(flags) or '-'}; one thread; "
          f"median CPU ms per frame (draw + uint8)")
    print("| look | " + " | ".join(f"{w}x{h}" for h, w in SIZES) + " |")
    print("|---|" + "---:|" * len(SIZES))
    for name in STYLE_NAMES:
        look = build_look(name)
        cells = []
        for h, w in SIZES:
            look.draw(state.frame(0), h, w)
            times = []
            for i in np.linspace(0, 239, args.frames).astype(int):
                t0 = time.thread_time()
                to_uint8(look.draw(state.frame(int(i)), h, w))
                times.append(time.thread_time() - t0)
            cells.append(f"{np.median(times) * 1e3:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
