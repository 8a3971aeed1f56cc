"""`synesthete-bench live`: the REAL live loop in a REAL X11 window, measured while it plays, recording.

Set-up, all real parts: an X server (the session's `DISPLAY`, or an `Xvfb` started for the run
when there is none), a JACK server (a dummy one is started, `JACK_NO_AUDIO_RESERVATION=1
jackd -d dummy -r 48000 -p 256`, when none runs), a separate feeder process that is a JACK client
playing procedural music (rendered once by the music engine, then looped) into the app's input
ports, and `LiveLoop` reading that input through PortAudio's JACK host API, showing the show in a
1280x720 X11 window (SDL's x11 driver: every frame is scaled, blitted and flipped to the X server)
and recording it to an mp4 in a temporary folder at the app's default size (the render size:
the looks' own pixels; `--record-size 1280x720` records the window's size as before). `--source demo` plays the procedural
demo in the app instead (no JACK; the looks then follow the demo's exact score when no hearing
model is shipped). It runs `--quick` 10 s, by default 60 s, `--soak [S]` 600 s (or S), and
reports the figures of the loop's own `LatencyStats` (start-up excluded), the render size the
loop chose, resident memory at the start (after warm-up) and the end, and the CPU model and its
vector flags. `--dummy-row` measures the same run a second time through SDL's dummy video driver
(which presents nothing) and reports it under `dummy_*` keys: it is not the display figure.

JSON keys: fps_median (median over the seconds of the frames shown in each), fps_mean (frames / time), frame_ms_p50, frame_ms_p99 (the loop's work per shown frame),
frame_interval_ms_p99, latency_ms_p50/p95/p99 (capture of the newest sample -> after flip),
dropped_frames, dropped_frames_pct (frames produced for the screen but never shown), late_frames,
late_frames_pct (shown more than 1.5 periods after the previous one), recording, record_dropped, rss_start_mb, rss_end_mb,
rss_growth_mb, seconds, window, record_size, device, render_size, video_driver, display, cpu_model,
cpu_flags (+ dummy_* with --dummy-row).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from synesthete.bench.part import BenchPart
from synesthete.constants import BLOCK_SIZE
from synesthete.frame_size import parse_size

JACK_SERVER = "synesthete-bench"
FEEDER_CLIENT = "synesthete-bench-feeder"
APP_CLIENT = "synesthete"


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux /proc; macOS falls back to the peak)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _jack_ports() -> list[str] | None:
    try:
        r = subprocess.run(["jack_lsp"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.split("\n") if r.returncode == 0 and "system:" in r.stdout else None


def ensure_jack() -> subprocess.Popen | None:
    """Use the running JACK server, or start a dummy one (returned, to be stopped by the caller)."""
    os.environ["JACK_NO_AUDIO_RESERVATION"] = "1"
    if _jack_ports() is not None:
        return None
    if shutil.which("jackd") is None:
        raise RuntimeError("the live bench needs JACK: install jackd2 (apt install jackd2) or start a JACK server")
    os.environ["JACK_DEFAULT_SERVER"] = JACK_SERVER
    proc = subprocess.Popen(["jackd", "-n", JACK_SERVER, "-t", "4000", "-d", "dummy", "-r", "48000", "-p", str(BLOCK_SIZE)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while _jack_ports() is None:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"could not start a dummy JACK server (jackd -d dummy -r 48000 -p {BLOCK_SIZE})")
        time.sleep(0.1)
    os.environ["JACK_NO_START_SERVER"] = "1"
    return proc


def _connect_when_ready(src_prefix: str, dst_prefix: str, stop: threading.Event) -> None:
    """Wire every output port of src to the input ports of dst once both exist (feeder -> app)."""
    while not stop.is_set():
        ports = _jack_ports() or []
        outs = sorted(p for p in ports if p.startswith(src_prefix + ":out"))
        ins = sorted(p for p in ports if p.startswith(dst_prefix + ":in"))
        if outs and ins:
            for i, dst in enumerate(ins[:2]):
                subprocess.run(["jack_connect", outs[i % len(outs)], dst], capture_output=True, timeout=10)
            return
        stop.wait(0.1)


def feed(seconds: float = 8.0, seed: int = 0) -> None:
    """The feeder process: loop `seconds` of procedural music into JACK until stdin closes."""
    import numpy as np

    from synesthete.audio.engine import render_clip
    from synesthete_live.devices import refresh_devices, sounddevice

    refresh_devices(jack_client_name=FEEDER_CLIENT)
    sd = sounddevice()
    jack = [i for i, h in enumerate(sd.query_hostapis()) if "JACK" in h["name"]]
    if not jack:
        sys.exit("bench feeder: PortAudio sees no JACK server")
    device = sd.query_hostapis(jack[0])["default_output_device"]
    rate = int(sd.query_devices(device)["default_samplerate"])
    music = render_clip(seed, seconds, sample_rate=rate).audio.astype("float32")  # (S,)
    music *= 0.7 / max(float(abs(music).max()), 1e-6)
    pos = [0]

    def callback(outdata, frames, time_info, status):
        i = pos[0]
        idx = (i + np.arange(frames)) % music.shape[0]
        outdata[:, 0] = music[idx]
        pos[0] = (i + frames) % music.shape[0]

    with sd.OutputStream(device=device, channels=1, samplerate=rate, blocksize=BLOCK_SIZE, dtype="float32",
                         callback=callback):
        print("ready", flush=True)
        sys.stdin.read()  # until the bench closes our stdin


def cpu_info() -> tuple[str, str]:
    """(CPU model name, its AVX2/AVX-512/AMX flags) from /proc/cpuinfo ("" where unknown)."""
    import platform
    import re

    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor(), ""
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    flags = sorted(set(re.findall(r"\b(avx512[a-z_0-9]*|avx2|amx[a-z_]*)\b", text)))
    return (model.group(1).strip() if model else platform.processor()), " ".join(flags)


def ensure_display(size: tuple[int, int]) -> subprocess.Popen | None:
    """Use $DISPLAY, or start `Xvfb` on a free display number (returned, to be stopped by the caller)."""
    if os.environ.get("DISPLAY"):
        return None
    if shutil.which("Xvfb") is None:
        raise RuntimeError("the live bench needs an X server: set DISPLAY, or install Xvfb (apt install xvfb)")
    for n in range(90, 140):
        if Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists():
            continue
        proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                break
            time.sleep(0.05)
        else:
            os.environ["DISPLAY"] = f":{n}"
            return proc
    raise RuntimeError("could not start Xvfb on any display :90..:139")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--soak", type=float, nargs="?", const=600.0, default=None, metavar="SECONDS",
                   help="long run (default 600 s) reporting resident memory at start and end")
    p.add_argument("--seconds", type=float, default=None, help="run time (default 60, --quick 10)")
    p.add_argument("--window", default="1280x720", help="window size WxH (default 1280x720)")
    p.add_argument("--record-size", default=None, help="recording size WxH (default: the app's, the render size)")
    p.add_argument("--no-record", action="store_true", help="measure without recording (for comparison)")
    p.add_argument("--torch-device", default="cpu", help="where the model runs (default cpu)")
    p.add_argument("--checkpoint", default=None, help="hearing checkpoint (default: the shipped one)")
    p.add_argument("--source", choices=("jack", "demo"), default="jack",
                   help="jack: music from a feeder process through JACK (default); demo: the in-app demo")
    p.add_argument("--render-size", default=None, help="fix the render size WxH (default: the loop chooses)")
    p.add_argument("--dummy-row", action="store_true",
                   help="also measure through SDL's dummy video driver (reported as dummy_*)")


def _measure(args: argparse.Namespace, driver: str, seconds: float, window: tuple[int, int],
             record_size: tuple[int, int] | None, tmp: Path) -> tuple[dict[str, Any], Any, dict[str, float], float]:
    """One run of the live loop on SDL video driver `driver`; (summary, loop, marks, rss at the end)."""
    from synesthete_live.live_loop import LiveLoop, LiveOptions

    os.environ["SDL_VIDEODRIVER"] = driver
    render_size = parse_size(args.render_size) if args.render_size else None
    opts = LiveOptions(device="system" if args.source == "jack" else "demo", checkpoint=args.checkpoint,
                       headless=driver == "dummy", play_out=False, size=window,
                       record=None if args.no_record else tmp / f"bench-{driver}.mp4", record_size=record_size,
                       duration=seconds + 1.0, torch_device=args.torch_device, torch_threads=1,
                       presets_dir=Path("presets"), vsync=False,
                       render_size=(render_size[1], render_size[0]) if render_size else None)
    loop = LiveLoop(opts)
    marks: dict[str, float] = {}

    def observe(frame, shown: float) -> None:
        t0 = marks.setdefault("t0", shown)
        if "rss_start" not in marks and shown - t0 > 1.5:  # after warm-up: caches and buffers exist
            marks["rss_start"] = rss_mb()

    loop.on_frame.append(observe)
    summary = loop.run()
    return summary, loop, marks, rss_mb()


KEYS = ("fps_median", "fps_mean", "frame_ms_p50", "frame_ms_p99", "frame_interval_ms_p99", "latency_ms_p50",
        "latency_ms_p95", "latency_ms_p99", "dropped_frames", "dropped_frames_pct", "late_frames",
        "late_frames_pct")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from synesthete_live.devices import refresh_devices

    seconds = args.soak or args.seconds or (10.0 if args.quick else 60.0)
    window = parse_size(args.window)
    record_size = parse_size(args.record_size) if args.record_size else None  # None: the app's default
    xvfb = ensure_display(window)
    jackd = ensure_jack() if args.source == "jack" else None
    feeder = None
    stop = threading.Event()
    tmp = Path(tempfile.mkdtemp(prefix="synesthete-bench-live-"))
    try:
        if args.source == "jack":
            refresh_devices(jack_client_name=APP_CLIENT)
            feeder = subprocess.Popen([sys.executable, "-m", "synesthete_live.bench_live", "feed"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            if feeder.stdout.readline().strip() != "ready":
                raise RuntimeError("the bench's JACK feeder did not start")
            threading.Thread(target=_connect_when_ready, args=(FEEDER_CLIENT, APP_CLIENT, stop), daemon=True).start()
        summary, loop, marks, rss_end = _measure(args, "x11", seconds, window, record_size, tmp)
        driver = summary.get("video_driver", "")
        dummy = None
        if args.dummy_row:
            dummy = _measure(args, "dummy", seconds, window, record_size, tmp)[0]
    finally:
        stop.set()
        if feeder is not None:
            try:
                feeder.stdin.close()
                feeder.wait(timeout=5)
            except Exception:
                feeder.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        if jackd is not None:
            import sounddevice as sd

            sd._terminate()  # leave the server while it is alive
            jackd.terminate()
            jackd.wait(timeout=5)
            for key in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER"):
                os.environ.pop(key, None)
            sd._initialize()
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=5)
    rss_start = marks.get("rss_start", rss_end)
    out = {k: summary.get(k) for k in KEYS}
    model, flags = cpu_info()
    out.update(recording=bool(summary.get("recording")), record_dropped=summary.get("record_dropped"),
               record_error=summary.get("record_error"), rss_start_mb=round(rss_start, 1),
               rss_end_mb=round(rss_end, 1), rss_growth_mb=round(rss_end - rss_start, 1), seconds=seconds,
               window=f"{window[0]}x{window[1]}", record_size=summary.get("record_size"),
               render_size=summary.get("render_size"), video_driver=driver, display=os.environ.get("DISPLAY", ""),
               source=args.source, device=args.torch_device, hearing=loop.checkpoint_label,
               cpu_model=model, cpu_flags=flags, cpu_count=os.cpu_count())
    if dummy is not None:
        out.update({f"dummy_{k}": dummy.get(k) for k in KEYS})
    return out


def register() -> BenchPart:
    return BenchPart(name="live", help="the real live loop in an X11 window (Xvfb if no display), fed by a JACK "
                     "client, recording (at the render size unless --record-size)",
                     run=run, add_arguments=add_arguments)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "feed":
    feed()
