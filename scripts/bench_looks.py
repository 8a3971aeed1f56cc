"""Per-look drawing cost of one frame at live render sizes (one thread), for docs/visualizers.md.

    uv run --locked python scripts/bench_looks.py [--frames 24] [--sizes 270x480,360x640]
    uv run --locked python scripts/bench_looks.py --against main [--looks flow,rings] [--rounds 5]

Draws each registered style look from the music state of a procedural song, one frame at a time
as the live performer does (draw + conversion to uint8), and prints the median CPU time per frame
(thread time: what the frame costs this thread, less sensitive to other jobs on a shared box than
wall time) with the CPU model and vector flags.

`--against REF` compares this tree's looks with those of git revision REF in the same run: the
`synesthete` package of REF is extracted to a temporary folder and imported by a second worker
process; the two workers draw the same frames in alternating rounds (so a load change on a shared
box hits both alike) and the table gives old and new medians, their ratio, the same for each
frame's fastest round (steadier while other jobs share the box), and the largest difference
between the two pictures of each frame (float, 0..1).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = ((270, 480), (360, 640), (540, 960), (720, 1280))
ROOT = Path(__file__).resolve().parent.parent


def cpu_line() -> str:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    flags = sorted(set(re.findall(r"\b(avx512[a-z_0-9]*|avx2|amx[a-z_]*)\b", text)))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"CPU {model.group(1) if model else '?'}; flags {' '.join(flags) or '-'}; load {load:.2f}; one thread"


def worker() -> None:
    """Draw on request: each stdin line is JSON {look, h, w, frames, dump}; answers the CPU seconds of
    each frame (draw + uint8) and, with `dump`, saves the float frames there (.npy)."""
    import torch

    torch.set_num_threads(1)
    from synesthete.audio.engine import render_clip
    from synesthete.looks import build_look
    from synesthete.post_effects import to_uint8

    state = render_clip(3, 4.0).score.music_state(60, 240)
    looks: dict[str, object] = {}
    for line in sys.stdin:
        job = json.loads(line)
        look = looks.setdefault(job["look"], build_look(job["look"]))
        h, w = job["h"], job["w"]
        look.draw(state.frame(0), h, w)  # warm the size's caches
        times, frames = [], []
        for i in job["frames"]:
            t0 = time.thread_time()
            picture = look.draw(state.frame(int(i)), h, w)
            frames.append(picture.clone() if job.get("dump") else None)
            to_uint8(picture)
            times.append(time.thread_time() - t0)
        if job.get("dump"):
            np.save(job["dump"], torch.stack(frames).numpy())
        print(json.dumps(times), flush=True)


class Worker:
    def __init__(self, pythonpath: str | None) -> None:
        env = dict(os.environ)
        if pythonpath:
            env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=pythonpath or ROOT)

    def run(self, **job) -> list[float]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("a bench worker died (see its error above)")
        return json.loads(line)

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=24, help="frames per look and size (default 24)")
    p.add_argument("--sizes", default=None, help="HxW,HxW (default 270x480,360x640,540x960,720x1280; "
                   "with --against 270x480,360x640)")
    p.add_argument("--looks", default=None, help="comma-separated looks (default every style)")
    p.add_argument("--against", default=None, metavar="REF", help="compare with the looks of git revision REF")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds with --against (default 5)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker()
    sys.path.insert(0, str(ROOT))
    from synesthete.visual import STYLE_NAMES

    looks = args.looks.split(",") if args.looks else list(STYLE_NAMES)
    default = SIZES[:2] if args.against else SIZES
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")] if args.sizes else list(default)
    frames = [int(i) for i in np.linspace(0, 239, args.frames).astype(int)]
    print(cpu_line() + "; median CPU ms per frame (draw + uint8)")
    if not args.against:
        new = Worker(None)
        print("| look | " + " | ".join(f"{w}x{h}" for h, w in sizes) + " |")
        print("|---|" + "---:|" * len(sizes))
        for name in looks:
            cells = [f"{np.median(new.run(look=name, h=h, w=w, frames=frames)) * 1e3:.1f}" for h, w in sizes]
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
        new.close()
        return
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.against, "synesthete"],
                                 capture_output=True, check=False)
        if archive.returncode != 0:
            raise SystemExit(f"cannot read revision {args.against!r}: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        old, new = Worker(tmp), Worker(None)
        print(f"old = {args.against}, new = this tree; {args.rounds} alternating rounds of {len(frames)} frames")
        print("| look | size | old ms | new ms | new/old | best old | best new | best new/old | max abs diff |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for name in looks:
            for h, w in sizes:
                told: list[float] = []
                tnew: list[float] = []
                for r in range(args.rounds):
                    dump = r == 0
                    told += old.run(look=name, h=h, w=w, frames=frames, dump=f"{tmp}/old.npy" if dump else None)
                    tnew += new.run(look=name, h=h, w=w, frames=frames, dump=f"{tmp}/new.npy" if dump else None)
                    if dump:
                        diff = float(np.abs(np.load(f"{tmp}/old.npy") - np.load(f"{tmp}/new.npy")).max())
                mo, mn = np.median(told) * 1e3, np.median(tnew) * 1e3
                # best: each frame's fastest round, median over the frames (what the frame costs
                # when no other job got in its way: steadier on a shared box)
                bo, bn = (np.median(np.reshape(t, (args.rounds, -1)).min(axis=0)) * 1e3 for t in (told, tnew))
                print(f"| {name} | {w}x{h} | {mo:.2f} | {mn:.2f} | {mn / mo:.2f} | {bo:.2f} | {bn:.2f} | {bn / bo:.2f} "
                      f"| {diff:.1e} |", flush=True)
        old.close()
        new.close()
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
