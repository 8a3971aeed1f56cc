"""`synesthete-bench data`: how fast the infinite dataset makes training data, per worker.

A DataLoader worker is one process on one core, so this measures with one torch thread: seconds
of training data (audio + teacher frames) made per wall-clock second. The headline figure,
`realtime_factor_per_worker`, is at the issue's reference settings (128x128, 30 fps); the same is
reported for the default training settings (`DataConfig()`), and for the audio engine alone.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from typing import Any

import torch

from synesthete.bench.part import BenchPart
from synesthete.constants import BENCH_FPS, BENCH_SIZE


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def _time_items(make, n_items: int, repeats: int) -> list[float]:
    """Seconds per item, one median-able sample per repeat."""
    per_item = []
    for r in range(repeats):
        t0 = time.perf_counter()
        for i in range(n_items):
            make(r * n_items + i)
        per_item.append((time.perf_counter() - t0) / n_items)
    return per_item


def run(args: argparse.Namespace) -> dict[str, Any]:
    from synesthete.audio.engine import render_clip
    from synesthete.data.dataset import DataConfig, ProceduralClips

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one worker = one core
    try:
        n_items, repeats = (4, 3) if args.quick else (16, 5)
        figures: dict[str, Any] = {}
        ref = DataConfig(height=BENCH_SIZE, width=BENCH_SIZE, fps=BENCH_FPS, clip_seconds=4.0)
        settings = {"": ref, "_train_default": DataConfig()}
        for suffix, cfg in settings.items():
            ds = ProceduralClips(cfg)
            ds.make_item(10**6)  # warm caches (coordinate grids, filter banks)
            secs = statistics.median(_time_items(ds.make_item, n_items, repeats))
            clip_seconds = cfg.n_frames / cfg.fps
            figures[f"realtime_factor_per_worker{suffix}"] = round(clip_seconds / secs, 2)
            figures[f"item_ms{suffix}"] = round(secs * 1000, 2)
            figures[f"settings{suffix}"] = f"{cfg.width}x{cfg.height}@{cfg.fps}fps, {clip_seconds:g}s clips"
        figures["peak_rss_mb"] = round(_peak_rss_mb(), 1)

        duration = ref.n_frames / ref.fps
        render_clip(0, duration, sample_rate=ref.sample_rate)
        secs = statistics.median(_time_items(
            lambda i: render_clip(i, duration, sample_rate=ref.sample_rate), n_items, repeats))
        figures["audio_realtime_factor"] = round(duration / secs, 1)
        figures["audio_clip_ms"] = round(secs * 1000, 2)
        figures["peak_rss_mb_after_audio"] = round(_peak_rss_mb(), 1)
        return figures
    finally:
        torch.set_num_threads(threads)


def register() -> BenchPart:
    return BenchPart(name="data", help="training data per wall-clock second per worker (audio + teacher frames)", run=run)
