"""`synesthete-bench links`: what OSC out, an OSC-in flood and NDI out cost the live loop.

The REAL live loop (`LiveLoop`, headless: SDL's dummy video driver, so drawing and scaling to the
1280x720 window still happen) plays the demo music, once per condition, for the same time:

* `baseline`: no links;
* `osc_out`: `--osc-out` to a sink process on this machine: every model frame's music state bundle
  and its events (full rate, 60 bundles/s of 34 floats);
* `osc_in_flood`: `--osc-in` while a flooder process sends `--flood-rate` messages a second (default
  5000): to three control addresses (hue, zoom, feedback), with the values they already have, so the
  picture costs what it did and the figure is the cost of receiving, plus one in four to an unknown
  address;
* `ndi` (when ndi-python is installed): `--ndi` at the window size, no receiver connected.

Conditions run in turn, `--rounds` times (default 2, --quick 1), and each figure is the median
over its rounds, so a slow spell of a shared machine does not land on one condition only.
Figures per condition: fps_median (median over the seconds of the frames shown in each),
frame_ms_p50/p99 (the loop's work per shown frame), latency_ms_p50/p95, and, from the first second
on, CPU time, which a shared machine disturbs far less than it does frame rates:
render_cpu_ms_per_frame (the render thread's CPU per model frame made: what the links add to the
frame loop's own work), app_cpu_percent (every thread of the app, per wall second) and
other_threads_cpu_percent (every thread but the render thread: audio pacing, OSC/NDI threads);
the helper processes are not counted. Then the links' own counters (bundles sent and dropped, OSC messages received/applied/superseded).
"""

from __future__ import annotations

import argparse
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from synesthete.bench.part import BenchPart
from synesthete.frame_size import parse_size

FIGURES = ("fps_median", "frame_ms_p50", "frame_ms_p99", "latency_ms_p50", "latency_ms_p95")
LINK_FIGURES = ("osc_out_frames", "osc_out_dropped", "osc_out_events", "osc_in_received", "osc_in_accepted",
                "osc_in_superseded", "osc_in_bad", "ndi_sent", "ndi_dropped")


def _cpu_seconds() -> float:
    # CPU time of every thread of this process (the links' threads included), not of the helper
    # processes: unlike the frame rate it hardly depends on what else a shared machine runs.
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sink(port: int) -> None:
    """Helper process: count datagrams on `port` until stdin closes, then print the count."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(0.1)
    count, done = [0], threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    print("ready", flush=True)
    while not done.is_set():
        try:
            sock.recv(65536)
            count[0] += 1
        except socket.timeout:
            pass
    print(count[0], flush=True)


def flood(port: int, rate: float) -> None:
    """Helper process: send `rate` OSC messages a second to three control addresses until stdin closes."""
    from pythonosc.osc_message_builder import OscMessageBuilder

    def message(address: str, value: float) -> bytes:
        m = OscMessageBuilder(address)
        m.add_arg(float(value), "f")
        return m.build().dgram

    # Values that leave the picture as it is (the effects' own cost is not what is measured here),
    # and one message in four to an unknown address (the bad-message path).
    pool = [message(f"/synesthete/control/{name}", 0.0) for name in ("hue", "zoom", "feedback")]
    pool.append(message("/synesthete/no/such/address", 1.0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    print("ready", flush=True)
    sent, t0, batch = 0, time.perf_counter(), max(1, int(rate / 200))  # 200 bursts a second
    while not done.is_set():
        for _ in range(batch):
            sock.sendto(pool[sent % len(pool)], ("127.0.0.1", port))
            sent += 1
        time.sleep(max(0.0, t0 + sent / rate - time.perf_counter()))
    print(sent, flush=True)


class _Helper:
    """A helper process of this module (sink or flood), ready when it says so."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "synesthete_live.bench_links", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"bench helper {args[0]} did not start")

    def finish(self) -> int:
        self.proc.stdin.close()
        out = self.proc.stdout.read().strip()
        self.proc.wait(timeout=10)
        return int(out or 0)


def _run_condition(name: str, seconds: float, window: tuple[int, int], args: argparse.Namespace) -> dict[str, Any]:
    rw, rh = parse_size(args.render_size)
    render_size = (rh, rw)  # LiveOptions takes (h, w)
    from synesthete_live.live_loop import LiveLoop, LiveOptions

    # A fixed render size: the live loop otherwise picks one by timing the looks at start and steps
    # down on late frames, which on a loaded machine would differ from condition to condition.
    opts = dict(device="demo", headless=True, play_out=False, size=window, duration=seconds + 1.0,
                render_size=render_size,
                torch_device=args.torch_device, torch_threads=1, presets_dir=Path("presets"), quiet=True,
                checkpoint=args.checkpoint)
    helper = None
    port = _free_port()
    if name == "osc_out":
        helper = _Helper("sink", str(port))
        opts["osc_out"] = [("127.0.0.1", port)]
    elif name == "osc_in_flood":
        opts["osc_in"] = port
    elif name == "ndi":
        opts["ndi"] = f"synesthete-bench-{port}"
    loop = LiveLoop(LiveOptions(**opts))
    if name == "osc_in_flood":  # start flooding once the port is open (the first frame is shown)
        started = threading.Event()
        loop.on_frame.append(lambda frame, shown: started.set())
        box: dict[str, _Helper] = {}
        threading.Thread(target=lambda: started.wait(60) and box.setdefault(
            "h", _Helper("flood", str(port), str(args.flood_rate))), daemon=True).start()
    marks: dict[str, tuple] = {}

    def observe(frame, shown: float) -> None:  # on the render thread, after each flip
        now = (time.thread_time(), _cpu_seconds(), loop.performer.frames_done, time.perf_counter())
        if "start" not in marks:
            marks.setdefault("first", now)
            if now[3] - marks["first"][3] >= 1.0:  # after warm-up
                marks["start"] = now
        else:
            marks["end"] = now

    loop.on_frame.append(observe)
    try:
        summary = loop.run()
    finally:
        if name == "osc_in_flood":
            helper = box.get("h")
        received = helper.finish() if helper is not None else None
    out = {k: summary.get(k) for k in FIGURES}
    if "end" in marks:
        (r0, p0, f0, t0), (r1, p1, f1, t1) = marks["start"], marks["end"]
        out["render_cpu_ms_per_frame"] = round(1000.0 * (r1 - r0) / max(f1 - f0, 1), 2)
        out["app_cpu_percent"] = round(100.0 * (p1 - p0) / (t1 - t0), 1)
        out["other_threads_cpu_percent"] = round(100.0 * ((p1 - p0) - (r1 - r0)) / (t1 - t0), 1)
    out.update({k: summary[k] for k in LINK_FIGURES if k in summary})
    if name == "osc_out":
        out["sink_datagrams"] = received
    if name == "osc_in_flood":
        out["flood_sent"] = received
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    import os

    os.environ["SDL_VIDEODRIVER"] = "dummy"
    seconds = args.seconds or (4.0 if args.quick else 20.0)
    rounds = args.rounds or (1 if args.quick else 2)
    window = parse_size(args.window)
    conditions = ["baseline", "osc_out", "osc_in_flood"]
    try:
        import NDIlib  # noqa: F401

        conditions.append("ndi")
    except ImportError:
        pass
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in conditions}
    for _ in range(rounds):
        for c in conditions:
            results[c].append(_run_condition(c, seconds, window, args))
    figures: dict[str, Any] = {"seconds": seconds, "rounds": rounds, "window": args.window,
                               "render_size": args.render_size,
                               "flood_rate": args.flood_rate, "device": args.torch_device}
    for c, runs in results.items():
        for key in runs[0]:
            values = [r[key] for r in runs if r.get(key) is not None]
            if values:
                figures[f"{c}_{key}"] = round(statistics.median(values), 2)
    base = figures.get("baseline_fps_median")
    for c in conditions[1:]:
        if base and figures.get(f"{c}_fps_median") is not None:
            figures[f"{c}_fps_vs_baseline"] = round(figures[f"{c}_fps_median"] / base, 3)
    return figures


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=None, help="seconds per condition (default 20, --quick 4)")
    p.add_argument("--rounds", type=int, default=None, help="rounds over the conditions (default 2, --quick 1)")
    p.add_argument("--window", default="1280x720", help="window size WxH (default 1280x720)")
    p.add_argument("--render-size", default="480x270",
                   help="look render size WxH, the same in every condition (default 480x270)")
    p.add_argument("--flood-rate", type=float, default=5000.0, help="OSC-in flood, messages a second (default 5000)")
    p.add_argument("--torch-device", default="cpu", help="where the model runs (default cpu)")
    p.add_argument("--checkpoint", default=None, help="checkpoint (default: the shipped one)")


def register() -> BenchPart:
    return BenchPart(name="links", help="the live loop with OSC out, an OSC-in flood and NDI out against none",
                     run=run, add_arguments=add_arguments)


if __name__ == "__main__" and len(sys.argv) > 2:
    if sys.argv[1] == "sink":
        sink(int(sys.argv[2]))
    elif sys.argv[1] == "flood":
        flood(int(sys.argv[2]), float(sys.argv[3]))
