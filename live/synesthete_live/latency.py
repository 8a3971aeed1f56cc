"""Measured real-time figures of the live loop: frame time, audio->frame latency, dropped frames.

Every displayed frame reports when it was shown (after `display.flip()`), when the newest audio
sample that fed it was captured, and how long the loop worked on it. Two views are kept, both in
constant memory so an all-night set does not grow:

* a rolling window (the last few seconds) for the HUD, as preallocated numpy rings;
* whole-run histograms (0.1 ms bins up to 1 s) for the summary printed at shutdown and the bench.

Two kinds of bad frames are counted. *Dropped*: frames the loop produced for the screen but never
showed, because a newer one was ready by the time it could draw (the loop reports how many it
skipped with each shown frame). *Late*: a shown frame whose gap to the previous one spans more
than 1.5 frame periods (jitter that a viewer may see as a hitch, though nothing was skipped).
Only the render thread writes; the HUD reads from the same thread.
"""

from __future__ import annotations

import numpy as np

BIN_MS = 0.1
MAX_MS = 1000.0


class _Histogram:
    def __init__(self) -> None:
        self.counts = np.zeros(int(MAX_MS / BIN_MS) + 1, dtype=np.int64)
        self.n = 0

    def add(self, ms: float) -> None:
        self.counts[min(max(int(ms / BIN_MS), 0), len(self.counts) - 1)] += 1
        self.n += 1

    def percentile(self, q: float) -> float:
        if self.n == 0:
            return float("nan")
        idx = int(np.searchsorted(np.cumsum(self.counts), q / 100.0 * self.n))
        return (min(idx, len(self.counts) - 1) + 0.5) * BIN_MS


class _Ring:
    def __init__(self, size: int) -> None:
        self.data = np.full(size, np.nan)
        self.i = 0

    def add(self, value: float) -> None:
        self.data[self.i % len(self.data)] = value
        self.i += 1

    def percentile(self, q: float) -> float:
        valid = self.data if self.i >= len(self.data) else self.data[: self.i]
        valid = valid[np.isfinite(valid)]
        return float(np.percentile(valid, q)) if valid.size else float("nan")


class LatencyStats:
    """Rolling + whole-run statistics of displayed frames at a target frame rate."""

    def __init__(self, fps: float, window: int = 240) -> None:
        self.period = 1.0 / float(fps)
        self.window = window
        self.reset()

    def reset(self) -> None:
        """Forget everything (the live loop does this once start-up hitches are over)."""
        window = self.window
        self.interval = _Ring(window)  # ms between displayed frames
        self.work = _Ring(window)  # ms the loop spent on a frame (read, infer, draw, flip)
        self.latency = _Ring(window)  # ms from capture of the newest sample to display
        self.interval_all = _Histogram()
        self.work_all = _Histogram()
        self.latency_all = _Histogram()
        self.displayed = 0
        self.dropped = 0
        self.late = 0
        self.last_display: float | None = None
        self.first_display: float | None = None
        self.per_second = np.zeros(1001, dtype=np.int64)  # histogram of frames shown in each whole second
        self._second_start = 0.0
        self._second_count = 0

    def record(self, display_time: float, capture_time: float | None, work_s: float, skipped: int = 0) -> None:
        """One displayed frame: flip time, capture time of its newest sample (or None), work time,
        and how many frames meant for the screen were skipped to show this one."""
        self.dropped += max(0, int(skipped))
        if self.last_display is not None:
            gap = display_time - self.last_display
            self.interval.add(gap * 1e3)
            self.interval_all.add(gap * 1e3)
            if gap > 1.5 * self.period:
                self.late += 1
        if self.first_display is None:
            self.first_display = self._second_start = display_time
        while display_time - self._second_start >= 1.0:  # close each whole second (0 if we stalled)
            self.per_second[min(self._second_count, 1000)] += 1
            self._second_start += 1.0
            self._second_count = 0
        self._second_count += 1
        self.last_display = display_time
        self.displayed += 1
        self.work.add(work_s * 1e3)
        self.work_all.add(work_s * 1e3)
        if capture_time is not None:
            ms = (display_time - capture_time) * 1e3
            self.latency.add(ms)
            self.latency_all.add(ms)

    def hud(self) -> dict[str, float]:
        """Figures over the last few seconds, for the HUD."""
        interval = self.interval.percentile(50)
        return {
            "fps": 1e3 / interval if interval == interval and interval > 0 else float("nan"),
            "frame_ms": self.work.percentile(50),
            "latency_p50": self.latency.percentile(50),
            "latency_p95": self.latency.percentile(95),
        }

    def summary(self) -> dict[str, float | int]:
        """Whole-run figures (the shutdown summary and the `live` bench JSON keys)."""
        total = self.displayed + self.dropped
        span = (self.last_display - self.first_display) if self.displayed > 1 else 0.0
        seconds = int(self.per_second.sum())
        if seconds:  # frames shown in each whole second, median over the seconds: "60 fps sustained"
            fps_median = float(np.searchsorted(np.cumsum(self.per_second), 0.5 * seconds))
        else:  # under a second of show: frames over time
            fps_median = round((self.displayed - 1) / span, 2) if span > 0 else float("nan")
        return {
            "frames": self.displayed,
            "fps_median": fps_median,
            "fps_mean": round((self.displayed - 1) / span, 2) if span > 0 else float("nan"),
            "frame_interval_ms_p99": round(self.interval_all.percentile(99), 2),
            "frame_ms_p50": round(self.work_all.percentile(50), 2),
            "frame_ms_p99": round(self.work_all.percentile(99), 2),
            "latency_ms_p50": round(self.latency_all.percentile(50), 2),
            "latency_ms_p95": round(self.latency_all.percentile(95), 2),
            "latency_ms_p99": round(self.latency_all.percentile(99), 2),
            "dropped_frames": self.dropped,
            "dropped_frames_pct": round(100.0 * self.dropped / total, 3) if total else 0.0,
            "late_frames": self.late,
            "late_frames_pct": round(100.0 * self.late / self.displayed, 3) if self.displayed else 0.0,
        }

    def summary_line(self) -> str:
        s = self.summary()
        if not s["frames"]:
            return "no frame was shown (the run ended before the first one; --duration counts from the start)"
        return (f"{s['frames']} frames, {s['fps_mean']} fps ({s['fps_median']} median per second), "
                f"frame time p50 {s['frame_ms_p50']} ms p99 {s['frame_ms_p99']} ms, audio->frame latency p50 {s['latency_ms_p50']} ms "
                f"p95 {s['latency_ms_p95']} ms, dropped {s['dropped_frames']} ({s['dropped_frames_pct']}%), "
                f"late {s['late_frames']} ({s['late_frames_pct']}%)")
