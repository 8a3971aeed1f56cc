"""Constructed audio and video for the metric tests: clicks at known frames, a jumping square."""

from __future__ import annotations

import numpy as np
import pytest

SR = 24_000
FPS = 60
HOP = SR // FPS


def click_track(frames: list[int], n_frames: int, level: float = 0.8, seed: int = 0) -> np.ndarray:
    """Mono audio of n_frames * HOP samples with a 4 ms noise burst starting mid-way into each listed frame."""
    rng = np.random.default_rng(seed)
    audio = rng.normal(0, 1e-4, n_frames * HOP).astype(np.float32)  # a faint noise floor
    burst = (rng.normal(0, level / 2, int(0.004 * SR)) * np.hanning(int(0.004 * SR))).astype(np.float32)
    for f in frames:
        start = f * HOP + HOP // 2  # inside frame f's hop, so frame f is the first that may see it
        audio[start : start + burst.size] += burst
    return audio


def jumping_square(jumps: list[int], n_frames: int, size: int = 64, seed: int = 0) -> np.ndarray:
    """uint8 (T, H, W, 3): a textured 16 px square that jumps 6 px at each listed frame, still otherwise."""
    rng = np.random.default_rng(seed)
    patch = rng.integers(60, 255, (16, 16, 3), dtype=np.uint8)
    video = np.zeros((n_frames, size, size, 3), dtype=np.uint8)
    x, y, dx = 8, 24, 6
    jump_set = set(jumps)
    for t in range(n_frames):
        if t in jump_set:
            if not 0 <= x + dx <= size - 16:
                dx = -dx
            x += dx
        video[t, y : y + 16, x : x + 16] = patch
    return video


@pytest.fixture
def make_clicks():
    return click_track


@pytest.fixture
def make_square():
    return jumping_square


@pytest.fixture
def beat_frames() -> list[int]:
    return [10, 40, 70, 95, 130, 160, 185, 220, 250, 280]
