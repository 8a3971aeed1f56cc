"""Plasma: the demoscene classic, a sum of travelling sine waves mapped through the chord colours.

Every hit zooms into the field (the kick and snare hardest), snare flashes it, hats add a fine shimmering interference pattern,
the bass envelope warps the field in slow bends, the melody moves the centre of the radial wave,
the colour bands surge on each beat and ebb before the next, the radial wave travels out once per
bar and the field sways with the bar (no clock: each beat of a bar looks alike wherever it falls in
the song), section energy raises the spatial frequencies (more
and smaller blobs) and the brightness, and the chord picks the two colours.
"""

from __future__ import annotations

import math

import torch

from synesthete.registry import register
from synesthete.visual import fastmath as fm
from synesthete.visual.grid import TAU, Grid
from synesthete.visual.signals import Signals, Style, add_wave_, bar_sway, beat_turn, frame_col, shade, sin


@register("style", "plasma")
class Plasma(Style):
    name = "plasma"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        k = (2.0 + 2.5 * s.energy) / (1.0 + 0.35 * s.pulse)  # (T, 1, 1) spatial frequency; each hit zooms in
        # Slow motion sways once per bar; the music provides the fast motion.
        sw, cw = bar_sway(s), bar_sway(s, 0.5 * math.pi)  # (T, 1, 1) sin and cos of the bar
        # Bass: slow bends of the whole field (per-row / per-column shifts are cheap and smooth).
        bend = 0.35 * s.bass_env
        xs = g.x + bend * torch.sin(2.0 * g.x + 0.8 * sw)  # (T, 1, W) stretches columns
        ys = g.y + bend * torch.cos(1.5 * g.y + 0.8 * cw)  # (T, H, 1) stretches rows
        v = torch.add(torch.sin(k * xs + 1.2 * sw), torch.sin(0.8 * k * ys - 1.2 * cw))  # (T, H, W)
        # The diagonal wave sin(0.7 k xs + 0.7 k ys + 1.5 sw + bend sin(1.7 k ys)) is a column
        # term plus a row term: sin(A + B) = sin A cos B + cos A sin B, one rank-2 product.
        col = 0.7 * k * xs  # (T, 1, W)
        row = 0.7 * k * ys + 1.5 * sw + bend * torch.sin(1.7 * k * ys)  # (T, H, 1)
        add_wave_(v, col, row)
        # Radial wave around a centre the melody lifts, travelling out one wavelength per bar.
        dx = g.x - 0.3 * sw
        dy = g.y - 0.6 * (0.5 - s.melody)
        rr = torch.add(dx * dx, dy * dy).sqrt_()
        rr.mul_(1.3 * k).sub_(TAU * s.bar_phase)
        v.add_(fm.sin_(rr))
        # Hats: fine shimmer, a product of two fast waves (separable, one op over the image).
        fine = (0.35 * s.hats) * torch.sin(4.0 * k * g.x + 2.0 * TAU * s.beat_phase)  # (T, 1, W)
        v.baddbmm_(torch.sin(4.0 * k * g.y - TAU * s.beat_phase), fine)  # (T, H, 1) x (T, 1, W)
        # Map the field (about -4..4) to two colour weights; the colour bands surge forward right
        # after each beat and ebb back before the next, the same on every beat.
        surge = (0.3 + 1.2 * s.energy) * sin(math.pi * beat_turn(s, 0.2 + 0.8 * s.energy))
        c = fm.sin_(v.mul_(0.8).add_(surge))
        # Positive lobes in the base colour, negative in the accent, dark seams between them.
        a = c.clamp(min=0.0).square_()
        b = c.clamp_(max=0.0).square_()
        gain = 0.12 + 0.95 * s.energy + 0.35 * s.kick
        white = frame_col(0.55 * s.snare)
        return shade(a, (s.base + white) * frame_col(gain), b, (s.accent + white) * frame_col(0.8 * gain))
