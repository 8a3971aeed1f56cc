"""The render size: the largest size at which the looks hold the frame rate on this machine.

The looks draw at the render size and the window scales the picture up (bilinear, smooth). On a
GPU (CUDA/MPS) the looks draw the full window. On a CPU the cost grows with the pixels (measured
on a 2-core EPYC, one thread: 2-4 ms per frame at 480x270, 10-24 ms at 1280x720), and the frame
shares the machine with the recorder's encoder, so at start-up `RenderSizer.choose` draws every
look once at each candidate size (the window's aspect, 100 % down to 37.5 % of its height: 480x270
for a 1280x720 window) and keeps the largest whose slowest look fits `BUDGET_FRACTION` of the frame
period. While the show runs, `observe` watches the frame work: when more than `LATE_FRACTION` of
the frames in `WINDOW_S` ran past the period (or were skipped), it steps one size down, never
below the floor; `--render-size` fixes the size and turns both off.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import torch

from synesthete.music_state import MusicState
from synesthete.post_effects import to_uint8

HEIGHT_FRACTIONS = (1.0, 0.75, 0.625, 0.5, 0.375)  # of the window's height; the last is the floor
BUDGET_FRACTION = 0.5  # of the frame period for one look's drawing + conversion (the rest: hearing,
# scaling to the window, HUD, flip; the recorder's encoder runs on its own thread)
LATE_FRACTION = 0.1
WINDOW_S = 2.0
COOLDOWN_S = 3.0


class RenderSizer:
    def __init__(self, window_size: tuple[int, int], device: torch.device | str, fixed: tuple[int, int] | None,
                 fps: float) -> None:
        self.window = (int(window_size[0]), int(window_size[1]))  # (w, h)
        self.device = torch.device(device)
        self.fixed = tuple(fixed) if fixed is not None else None
        self.period = 1.0 / float(fps)
        self._recent: deque[bool] = deque(maxlen=max(1, int(WINDOW_S * fps)))
        self._cooldown = 0
        self.measured: dict[tuple[int, int], float] = {}  # (h, w) -> slowest look's seconds per frame

    def candidates(self) -> list[tuple[int, int]]:
        """(h, w) sizes with the window's aspect, largest first, each side even (h264 4:2:0)."""
        w, h = self.window
        out: list[tuple[int, int]] = []
        for f in HEIGHT_FRACTIONS:
            size = (max(2, int(round(h * f / 2)) * 2), max(2, int(round(w * f / 2)) * 2))
            if size not in out:
                out.append(size)
        return out

    @torch.inference_mode()  # as the performer draws: no autograd bookkeeping in the measurement
    def choose(self, performer) -> tuple[tuple[int, int], str]:
        """(h, w) to draw at, and a line saying why."""
        if self.fixed is not None:
            return self.fixed, f"render size {self.fixed[1]}x{self.fixed[0]} (--render-size)"
        sizes = self.candidates()
        if self.device.type in ("cuda", "mps"):
            return sizes[0], f"render size {sizes[0][1]}x{sizes[0][0]}: the full window ({self.device.type})"
        budget = BUDGET_FRACTION * self.period
        silence = MusicState.silence(1, performer.fps)
        silence.energy[:] = 0.8  # a busy section: the looks' costliest branches run
        silence.env[:] = 0.8
        features = torch.zeros(1, performer.features.n_features)
        looks = list(performer.mixer.looks)
        # A look that misses the budget even at the floor does not scale with the size (the pixel
        # network paints 64 px and upsamples): it does not decide the size, it is just slow.
        for look in list(looks):
            look.draw(silence, *sizes[-1], 1.0, features)
            t0 = time.perf_counter()
            to_uint8(look.draw(silence, *sizes[-1], 1.0, features))
            if time.perf_counter() - t0 > budget and len(sizes) > 1:
                looks.remove(look)
        chosen = sizes[-1]
        for size in sizes:
            slowest = 0.0
            for look in looks or performer.mixer.looks:
                look.draw(silence, *size, 1.0, features)  # first draw at a size builds its grids
                t0 = time.perf_counter()
                to_uint8(look.draw(silence, *size, 1.0, features))
                slowest = max(slowest, time.perf_counter() - t0)
                if slowest > budget:
                    break
            self.measured[size] = slowest
            if slowest <= budget:
                chosen = size
                break
        performer.reset()  # the measurement stepped looks that keep history
        tried = ", ".join(f"{w}x{h} {t * 1e3:.1f} ms" for (h, w), t in self.measured.items())
        return chosen, (f"render size {chosen[1]}x{chosen[0]} (slowest look per frame: {tried}; budget "
                        f"{budget * 1e3:.1f} ms; the window scales it to {self.window[0]}x{self.window[1]})")

    def observe(self, work_s: float, skipped: int, current: tuple[int, int]) -> tuple[int, int] | None:
        """Record one shown frame's work; returns a smaller size when frames keep missing the period."""
        if self.fixed is not None:
            return None
        self._recent.append(work_s > self.period or skipped > 0)
        if self._cooldown > 0:
            self._cooldown -= 1
            return None
        if len(self._recent) < self._recent.maxlen or np.mean(self._recent) <= LATE_FRACTION:
            return None
        smaller = [s for s in self.candidates() if s[0] * s[1] < current[0] * current[1]]
        if not smaller:
            return None
        self._recent.clear()
        self._cooldown = int(COOLDOWN_S / self.period)
        return smaller[0]
