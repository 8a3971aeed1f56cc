"""Where a live frame's time goes: the real app in the real X11 window, split into its parts.

    DISPLAY=:61 uv run --locked python scripts/profile_live_frame.py --seconds 20 [--record-size 640x360]

Runs `LiveLoop` on the demo source (played nowhere: `play_out=False`) in the X11 window of
`$DISPLAY`, recording to a temporary mp4 unless `--no-record`, and wraps each part of the render
thread with two clocks, wall (`perf_counter`) and the thread's own CPU (`thread_time`): audio
features, the hearing step, the look, the post effects, the uint8 conversion, the window's scale,
the HUD, the flip, the recorder hand-off. At the end it prints ms per shown frame of each part,
and the CPU each thread of the process (recorder, x264 workers, ...) and the X server used per
shown frame (from /proc). On a shared machine compare the parts within one run, not across runs:
the load (`os.getloadavg`) is printed with them.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))

from synesthete.frame_size import parse_size  # noqa: E402
from synesthete_live.live_loop import LiveLoop, LiveOptions  # noqa: E402

WALL: dict[str, float] = collections.defaultdict(float)
CPU: dict[str, float] = collections.defaultdict(float)
CALLS: dict[str, int] = collections.defaultdict(int)


def timed(name: str, fn):
    def wrapper(*args, **kwargs):
        w0, c0 = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            WALL[name] += time.perf_counter() - w0
            CPU[name] += time.thread_time() - c0
            CALLS[name] += 1
    return wrapper


def thread_cpu() -> dict[str, float]:
    """Seconds of CPU per thread name of this process (utime + stime from /proc)."""
    out: dict[str, float] = collections.defaultdict(float)
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        out[name] += (int(fields[11]) + int(fields[12])) / tick
    return out


def x_server_cpu() -> float:
    """CPU seconds of the X server of $DISPLAY (Xvfb), or nan."""
    display = os.environ.get("DISPLAY", "")
    try:
        pid = subprocess.run(["pgrep", "-f", f"Xvfb {display}( |$)"], capture_output=True, text=True).stdout.split()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (IndexError, OSError):
        return float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--record-size", default=None, help="WxH (default: the app's default)")
    p.add_argument("--render-size", default=None, help="WxH (default: the app chooses)")
    p.add_argument("--no-record", action="store_true")
    p.add_argument("--hearing", default="auto")
    p.add_argument("--checkpoint", default=None, help="hearing checkpoint (default: the shipped one)")
    args = p.parse_args()
    if not os.environ.get("DISPLAY"):
        sys.exit("profile_live_frame: set DISPLAY (e.g. Xvfb :61 -screen 0 1280x720x24 &)")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    tmp = Path(tempfile.mkdtemp(prefix="profile-live-"))
    rs = parse_size(args.render_size) if args.render_size else None
    opts = LiveOptions(device="demo", play_out=False, vsync=False, duration=args.seconds, quiet=False,
                       record=None if args.no_record else tmp / "p.mp4", hearing=args.hearing, checkpoint=args.checkpoint,
                       record_size=parse_size(args.record_size) if args.record_size else None,
                       render_size=(rs[1], rs[0]) if rs else None)
    loop = LiveLoop(opts)
    shown = [0]
    marks: dict[str, object] = {}
    setup = loop._setup

    def instrumented_setup():
        setup()
        perf = loop.performer
        perf.features.push = timed("features", perf.features.push)
        perf.hearing.step = timed("hearing step", perf.hearing.step)
        perf.mixer.draw = timed("look", perf.mixer.draw)
        perf.effects.apply = timed("post effects", perf.effects.apply)
        loop.window.draw = timed("scale to window", loop.window.draw)
        loop.hud.draw = timed("hud", loop.hud.draw)
        loop.window.flip = timed("flip", loop.window.flip)
        loop._record = timed("recorder hand-off", loop._record)
        loop._window_events = timed("window events", loop._window_events)
        loop.links.publish = timed("links", loop.links.publish)

    import synesthete.performer as performer_mod

    performer_mod.to_uint8 = timed("uint8", performer_mod.to_uint8)
    loop._setup = instrumented_setup

    def observe(frame, when: float) -> None:
        shown[0] += 1
        if "start" not in marks and shown[0] == 60:  # after warm-up
            marks["start"] = (dict(WALL), dict(CPU), thread_cpu(), x_server_cpu(), time.perf_counter(),
                              loop.frames_made)
            shown[0] = 0

    loop.on_frame.append(observe)
    summary = loop.run()
    wall0, cpu0, threads0, x0, t0, made0 = marks["start"]
    threads1, x1, elapsed = thread_cpu(), x_server_cpu(), time.perf_counter() - t0
    n = max(shown[0], 1)
    made = loop.frames_made - made0
    record = f"record {loop.recorder.width}x{loop.recorder.height}" if loop.recorder else "no recording"
    print(f"\nload {os.getloadavg()}, render size {summary.get('render_size')}, {record}", end="")
    print(f", {n} frames shown in {elapsed:.1f} s ({n / elapsed:.1f} fps), {made} model frames, "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'render thread part':24s} {'wall ms/shown':>14s} {'cpu ms/shown':>13s}")
    for name in sorted(WALL, key=lambda k: -(WALL[k] - wall0.get(k, 0.0))):
        w = (WALL[name] - wall0.get(name, 0.0)) / n * 1e3
        c = (CPU[name] - cpu0.get(name, 0.0)) / n * 1e3
        print(f"{name:24s} {w:14.2f} {c:13.2f}")
    print(f"{'thread (cpu ms per shown frame)':32s}")
    for name in sorted(threads1, key=lambda k: -(threads1[k] - threads0.get(k, 0.0))):
        d = (threads1[name] - threads0.get(name, 0.0)) / n * 1e3
        if d > 0.05:
            print(f"  {name:30s} {d:8.2f}")
    print(f"  {'X server':30s} {(x1 - x0) / n * 1e3:8.2f}")
    keys = ("fps_median", "dropped_frames_pct", "late_frames_pct", "latency_ms_p50", "latency_ms_p95",
            "frame_ms_p50", "frame_ms_p99", "record_dropped")
    print(" ".join(f"{k}={summary.get(k)}" for k in keys))


if __name__ == "__main__":
    main()
