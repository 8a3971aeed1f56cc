"""Plasma: the demoscene classic, a sum of travelling sine waves mapped through the chord colours.

Kick zooms into the field, snare flashes it, hats add a fine shimmering interference pattern,
the bass envelope warps the field in slow bends, the melody moves the centre of the radial wave,
beat phase cycles the colours once per beat, section energy raises the spatial frequencies (more
and smaller blobs) and the brightness, and the chord picks the two colours.
"""

from __future__ import annotations

import torch

from synesthete.registry import register
from synesthete.visual.grid import TAU, Grid
from synesthete.visual.signals import Signals, Style, shade


@register("style", "plasma")
class Plasma(Style):
    name = "plasma"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        k = (2.0 + 2.5 * s.energy) / (1.0 + 0.35 * s.kick)  # (T, 1, 1) spatial frequency; kick zooms in
        t = s.time
        # Bass: slow bends of the whole field (per-row / per-column shifts are cheap and smooth).
        bend = 0.35 * s.bass_env
        xs = g.x + bend * torch.sin(2.0 * g.x + 0.4 * t)  # (T, 1, W) stretches columns
        ys = g.y + bend * torch.cos(1.5 * g.y + 0.9 * t)  # (T, H, 1) stretches rows
        v = torch.sin(k * xs + 0.9 * t) + torch.sin(0.8 * k * ys - 0.7 * t)  # (T, H, W)
        diag = (0.7 * k) * xs + (0.7 * k) * ys  # (T, H, W)
        diag.add_(1.1 * t + bend * torch.sin(1.7 * k * ys))
        v.add_(torch.sin(diag))
        # Radial wave around a centre the melody lifts.
        dx = g.x - 0.3 * torch.sin(0.37 * t)
        dy = g.y - 0.6 * (0.5 - s.melody)
        rr = torch.sqrt(dx * dx + dy * dy)
        rr.mul_(1.3 * k).sub_(1.5 * t)
        v.add_(torch.sin(rr))
        # Hats: fine shimmer, a product of two fast waves (separable, one op over the image).
        fine = (0.35 * s.hats) * torch.sin(4.0 * k * g.x + 9.0 * t) * torch.sin(4.0 * k * g.y - 7.0 * t)
        v.add_(fine)
        # Map the field (about -4..4) to two colour weights, cycling once per beat.
        c = torch.sin(v.mul_(0.8).add_(TAU * s.beat_phase))
        a = c.mul(0.5).add_(0.5)
        a.mul_(a)
        b = (1.0 - c).mul_(0.5)
        b.mul_(b)
        gain = 0.18 + 0.75 * s.energy + 0.3 * s.kick
        white = (0.55 * s.snare).unsqueeze(1)
        return shade(a, (s.base + white) * gain.unsqueeze(1), b, (s.accent + white) * (0.8 * gain).unsqueeze(1))
