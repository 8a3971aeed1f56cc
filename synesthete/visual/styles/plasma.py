"""Plasma: the demoscene classic, a sum of travelling sine waves mapped through the chord colours.

Kick zooms into the field, snare flashes it, hats add a fine shimmering interference pattern,
the bass envelope warps the field in slow bends, the melody moves the centre of the radial wave,
beat phase cycles the colours an eighth turn per beat (in a snap), section energy raises the spatial frequencies (more
and smaller blobs) and the brightness, and the chord picks the two colours.
"""

from __future__ import annotations

import torch

from synesthete.registry import register
from synesthete.visual.grid import TAU, Grid
from synesthete.visual.signals import Signals, Style, beat_clock, shade


@register("style", "plasma")
class Plasma(Style):
    name = "plasma"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        k = (2.0 + 2.5 * s.energy) / (1.0 + 0.35 * s.kick)  # (T, 1, 1) spatial frequency; kick zooms in
        t = 0.7 * s.time  # slow drift; the music provides the fast motion
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
        # Map the field (about -4..4) to two colour weights, cycling an eighth turn per beat (in a snap).
        c = torch.sin(v.mul_(0.8).add_((TAU / 8.0) * beat_clock(s, 0.2 + 0.8 * s.energy)))
        # Positive lobes in the base colour, negative in the accent, dark seams between them.
        a = c.clamp(min=0.0).square_()
        b = c.clamp_(max=0.0).square_()
        gain = 0.12 + 0.95 * s.energy + 0.35 * s.kick
        white = (0.55 * s.snare).unsqueeze(1)
        return shade(a, (s.base + white) * gain.unsqueeze(1), b, (s.accent + white) * (0.8 * gain).unsqueeze(1))
