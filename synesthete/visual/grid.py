"""Cached coordinate grids that every style draws on, so styles are resolution independent.

Coordinates are in *image units*, not pixels: the shorter side of the image spans [-1, 1] and the
longer side extends proportionally (a 128x256 image has y in [-1, 1], x in [-2, 2]). A style that
draws a blob of radius 0.2 gets the same picture at 64x64 and 1024x1024, only sharper, and on a
non-square canvas it sees more of the same world instead of a stretched one. `pixel` is the size
of one pixel in these units, for the rare place that needs it (minimum softness).

Grids are built once per (height, width) and cached: styles broadcast per-frame scalars of shape
(T, 1, 1) against these (1, H, W) tensors, which is what keeps rendering vectorised over time.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import torch


@dataclass(frozen=True)
class Grid:
    height: int
    width: int
    x: torch.Tensor  # (1, 1, W) horizontal coordinate, left to right
    y: torch.Tensor  # (1, H, 1) vertical coordinate, top to bottom
    xx: torch.Tensor  # (1, H, W) x broadcast to the full image
    yy: torch.Tensor  # (1, H, W) y broadcast to the full image
    r: torch.Tensor  # (1, H, W) distance from the centre
    theta: torch.Tensor  # (1, H, W) angle around the centre in (-pi, pi]
    pixel: float  # one pixel in image units
    half_w: float  # half the width in image units (>= 1)
    half_h: float  # half the height in image units (>= 1)

    def rows(self, start: int, stop: int) -> "Grid":
        """The band of rows [start, stop) of this grid (views, no copy): a style drawn on each band
        of an image gives the same pixels as drawn on the whole, with working tensors that stay in
        cache (a 1280x720 frame drawn whole spills every intermediate to memory)."""
        sl = slice(start, stop)
        return Grid(stop - start, self.width, self.x, self.y[:, sl], self.xx[:, sl], self.yy[:, sl],
                    self.r[:, sl], self.theta[:, sl], self.pixel, self.half_w, self.half_h)

    def x_waves(self, *freqs: float) -> torch.Tensor:
        """(2 F, W): sin(f x) and cos(f x) for each f, in that order (cached per size; do not modify).

        For separable waves: sin(f x + p(y)) = sin(f x) cos p(y) + cos(f x) sin p(y), so a wave
        whose phase shifts per row is one small matrix product with these columns instead of a
        sin over the whole image."""
        return _x_waves(self.width, self.half_w, str(self.x.device), tuple(float(f) for f in freqs))


def _axis(n: int, half: float, device: str) -> torch.Tensor:
    # Pixel centres, so the grid is symmetric about 0 for both odd and even sizes.
    return (torch.arange(n, dtype=torch.float32, device=device) + 0.5) * (2.0 * half / n) - half


def get_grid(height: int, width: int, device: torch.device | str = "cpu") -> Grid:
    """The coordinate grid for an image of `height` x `width` pixels on `device` (cached, do not modify)."""
    if not (isinstance(height, numbers.Integral) and isinstance(width, numbers.Integral)) or height < 1 or width < 1:
        raise ValueError(f"image size must be positive integers, got height={height!r}, width={width!r}")
    return _build_grid(int(height), int(width), str(torch.device(device)))


@lru_cache(maxsize=16)
def _build_grid(height: int, width: int, device: str = "cpu") -> Grid:
    short = min(height, width)
    half_w, half_h = width / short, height / short
    x = _axis(width, half_w, device).view(1, 1, width)
    y = _axis(height, half_h, device).view(1, height, 1)
    xx = x.expand(1, height, width).contiguous()
    yy = y.expand(1, height, width).contiguous()
    r = torch.sqrt(xx * xx + yy * yy)
    theta = torch.atan2(yy, xx)
    return Grid(height, width, x, y, xx, yy, r, theta, 2.0 / short, half_w, half_h)


@lru_cache(maxsize=64)
def _x_waves(width: int, half_w: float, device: str, freqs: tuple[float, ...]) -> torch.Tensor:
    # float64 on the CPU (MPS has no float64), so the cached columns are exact to float32
    x = _axis(width, half_w, "cpu").double()
    return torch.stack([fn(f * x) for f in freqs for fn in (torch.sin, torch.cos)]).float().to(device)


_DERIVED_LOCK = threading.Lock()
_DERIVED: OrderedDict[tuple[int, str], tuple[torch.Tensor, torch.Tensor]] = OrderedDict()


def derived(base: torch.Tensor, key: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """fn(base), computed once per grid tensor `base` (one of a cached grid's fields, or a band's
    view of it) and `key`: per-size constants such as sin(9 r), for styles that need them every
    frame. The cache holds `base` itself, so its identity cannot be reused while it is cached
    (do not modify the result)."""
    k = (id(base), key)
    with _DERIVED_LOCK:  # the live app draws from more than one thread (start-up, presets, frames)
        hit = _DERIVED.get(k)
        if hit is not None and hit[0] is base:
            _DERIVED.move_to_end(k)
            return hit[1]
    value = fn(base)
    with _DERIVED_LOCK:
        _DERIVED[k] = (base, value)
        if len(_DERIVED) > 64:
            _DERIVED.popitem(last=False)
    return value


def mirrored(right: torch.Tensor, width: int) -> torch.Tensor:
    """The full field (..., width) of a field drawn on the right half of the columns, (..., width -
    width // 2), mirrored onto the left half. For fields symmetric about the vertical centre line
    (a function of |x|: the grid's x is symmetric for odd and even widths), drawn at half the
    cost."""
    return torch.cat([right[..., width % 2 :].flip(-1), right], dim=-1)


TAU = 2.0 * math.pi
