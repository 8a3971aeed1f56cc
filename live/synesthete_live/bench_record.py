"""`synesthete-bench record`: how fast the live recorder encodes, and whether it keeps up live.

Synthetic moving frames at the live window size (1280x720, smooth plasma like the model draws)
plus a tone go through the real `Recorder` (h264 ultrafast crf 23 + aac, fragmented mp4):

* throughput, at 1280x720 and 640x360 (window frames scaled on the recorder thread): frames are
  fed as fast as the queue takes them without dropping any; `encode_fps_*` is frames written per
  wall second, `realtime_factor_*_record` seconds of video per wall second (> 1: faster than live);
* live, at 1280x720: frames submitted at the display rate as the render loop would, counting
  `dropped_frames` (frames the encoder could not take in time);
* `cpu_ms_per_frame_*`: CPU time (all threads) per recorded frame, the cost a live rig must budget;
* `mb_per_minute_*`: file size per minute of recording.
* kill -9 loss: the real app (`synesthete-live --device demo --headless --record`, window and
  recording at the default size) is started and killed with SIGKILL at several times into its
  recording; the file is trimmed to whole fragments, ffprobe reads its duration, and
  `kill_loss_s_median_*` / `kill_loss_s_worst_*` are the seconds of show missing from the file
  (time recorded before the kill minus the video left), at the default size (720p) and with
  `--record-size 640x360`. `--kill-at` sets the times. The load average is reported with them:
  on a machine busy with other work the encoder falls behind and a kill loses its backlog too.

x264 uses `--threads` threads (default 2), so the encoder leaves the other cores to the model.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synesthete.bench.part import BenchPart
from synesthete.constants import FPS, SAMPLE_RATE, WINDOW_SIZE
from synesthete.mp4_writer import RecordingError, trim_partial_fragment
from synesthete_live.recorder import Recorder

SIZES = {"720p": (1280, 720), "360p": (640, 360)}


def plasma_frames(n: int, width: int, height: int) -> list[np.ndarray]:
    """n moving plasma frames (H, W, 3) uint8: drawn at 1/4 size and upscaled, smooth like model output."""
    h, w = height // 4, width // 4
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = []
    for i in range(n):
        p = i * 2 * np.pi / n
        v = np.sin(xx / 11 + p) + np.sin(yy / 7 - 2 * p) + np.sin((xx + yy) / 15 + 3 * p)
        rgb = np.stack([np.sin(v + p), np.sin(v + 2.1), np.cos(1.5 * v - p)], -1) * 110 + 128
        frames.append(cv2.resize(rgb.astype(np.uint8), (width, height), interpolation=cv2.INTER_CUBIC))
    return frames


def _tone(n: int, start: int) -> np.ndarray:
    t = (np.arange(n) + start) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _cpu_seconds() -> float:
    # CPU time of every thread in this process (x264's own threads included): unlike wall time it
    # hardly depends on what else the machine is running.
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _record(path: Path, size: tuple[int, int], source: list[np.ndarray], n_frames: int, threads: int,
            paced: bool) -> dict[str, Any]:
    spf = SAMPLE_RATE // FPS
    rec = Recorder(path, size[0], size[1], FPS, SAMPLE_RATE, threads=threads).start()
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    for i in range(n_frames):
        if paced:  # the render loop: one frame per display period
            time.sleep(max(0.0, t0 + i / FPS - time.perf_counter()))
        else:  # as fast as the encoder takes frames, without making it drop any
            while rec.queued_frames >= rec.queue_frames - 1 and rec.error is None:
                time.sleep(0.001)
        rec.submit_frame(source[i % len(source)], _tone(spf, i * spf))
    t_last = time.perf_counter()
    summary = rec.stop()
    end = time.perf_counter()
    summary["wall_seconds"] = end - t0
    summary["drain_seconds"] = end - t_last
    summary["cpu_seconds"] = _cpu_seconds() - cpu0
    summary["bytes"] = path.stat().st_size
    if summary["error"] and not paced:  # live, falling too far behind is a result, not a failure
        raise RuntimeError(summary["error"])
    return summary


def video_seconds(path: Path) -> float:
    """Duration of the video stream in an mp4 as ffprobe reads it (0.0 for a file with no frame)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=duration:format=duration", "-of", "json", str(path)],
                         capture_output=True, text=True)
    info = json.loads(out.stdout or "{}")
    for value in [s.get("duration") for s in info.get("streams", [])] + [info.get("format", {}).get("duration")]:
        if value not in (None, "N/A"):
            return float(value)
    return 0.0


def kill_loss(folder: Path, at: float, extra: list[str] = ()) -> dict[str, float]:
    """Run the real app recording, SIGKILL it `at` seconds after its show started, and measure."""
    path = folder / f"killed-{at:g}-{len(list(folder.iterdir()))}.mp4"  # a fresh name: the app never overwrites
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    proc = subprocess.Popen([sys.executable, "-m", "synesthete_live.cli", "--device", "demo", "--headless",
                             "--record", str(path), "--duration", str(at + 60), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stderr:  # the start line comes once the source (the audio clock) runs
            if "Esc quit" in line:
                break
        else:
            raise RuntimeError(f"synesthete-live ended before its show started (exit {proc.wait()})")
        started = time.perf_counter()
        time.sleep(at)
        proc.send_signal(signal.SIGKILL)
        recorded = time.perf_counter() - started
        proc.wait(30)
    finally:
        proc.kill()
    try:
        trimmed = trim_partial_fragment(path)
        kept = video_seconds(path)
    except RecordingError:  # killed before the first fragment (and the header with it) was written
        trimmed, kept = path.stat().st_size if path.exists() else 0, 0.0
    return {"at": round(recorded, 2), "kept": round(kept, 2), "lost": round(recorded - kept, 2),
            "trimmed_bytes": trimmed}


def run(args: argparse.Namespace) -> dict[str, Any]:
    seconds = args.record_seconds or (3.0 if args.quick else 10.0)
    n_frames = round(seconds * FPS)
    window = plasma_frames(FPS, *WINDOW_SIZE)
    figures: dict[str, Any] = {"record_settings": f"h264 ultrafast crf23 + aac {SAMPLE_RATE} Hz, {FPS} fps, "
                                                  f"{seconds:g} s from {WINDOW_SIZE[0]}x{WINDOW_SIZE[1]} frames",
                               "x264_threads": args.threads}
    with tempfile.TemporaryDirectory() as tmp:
        for name, size in SIZES.items():
            s = _record(Path(tmp) / f"{name}.mp4", size, window, n_frames, args.threads, paced=False)
            figures[f"encode_fps_{name}"] = round(s["frames"] / s["wall_seconds"], 1)
            figures[f"realtime_factor_{name}_record"] = round(s["seconds"] / s["wall_seconds"], 2)
            figures[f"cpu_ms_per_frame_{name}"] = round(1000 * s["cpu_seconds"] / s["frames"], 2)
            figures[f"mb_per_minute_{name}"] = round(s["bytes"] / s["seconds"] * 60 / 1e6, 1)
        live = _record(Path(tmp) / "live.mp4", SIZES["720p"], window, n_frames, args.threads, paced=True)
        figures["dropped_frames"] = live["dropped"]
        figures["dropped_percent_720p_live"] = round(100 * live["dropped"] / n_frames, 2)
        figures["drain_seconds_720p_live"] = round(live["drain_seconds"], 3)
        figures["stopped_720p_live"] = live["error"] or ""  # e.g. the encoder fell MAX_LAG_SECONDS behind
        kill_at = args.kill_at or ([2.0, 4.0] if args.quick else [1.0, 2.0, 3.5, 5.0, 6.5])
        for name, size in SIZES.items():  # the window's size, then 360p (the live default records
            extra = ["--record-size", f"{size[0]}x{size[1]}"]  # the render size: say the size)
            kills = [kill_loss(Path(tmp), at, extra) for at in kill_at]
            lost = [k["lost"] for k in kills]
            figures[f"kill_loss_runs_{name}"] = kills
            figures[f"kill_loss_s_median_{name}"] = round(statistics.median(lost), 2)
            figures[f"kill_loss_s_worst_{name}"] = round(max(lost), 2)
    figures["load_average_1min"] = round(os.getloadavg()[0], 2)
    return figures


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--record-seconds", type=float, default=None, metavar="S",
                   help="seconds of video per measurement (default: 3 with --quick, else 10)")
    p.add_argument("--kill-at", type=float, nargs="+", default=None, metavar="S",
                   help="kill -9 the recording app this many seconds into its show, once per value "
                        "(default: 2 4 with --quick, else 1 2 3.5 5 6.5)")


def register() -> BenchPart:
    return BenchPart(name="record", help="live recorder: h264+aac encode speed at 720p/360p, drops when live",
                     run=run, add_arguments=add_arguments)
