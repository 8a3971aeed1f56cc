"""Kaleidoscope: soft shapes folded into a six-fold mirror symmetry.

Every hit zooms into the mirror (shapes rush outward; the kick and snare hardest), snare bursts a bright star from the centre, hats
ripple the mirror seams, the bass envelope swells the shapes, the melody slides the shapes along the
mirror wedge, the whole kaleidoscope turns one wedge per bar, a quarter of it in a snap on each
beat, the shapes circle and the stripes travel once per bar, section energy adds a stripe layer and
brightness, and the chord colours it.
"""

from __future__ import annotations


import math

import torch

from synesthete.registry import register
from synesthete.visual.grid import TAU, Grid
from synesthete.visual.signals import Signals, Style, bar_sway, bar_turn, shade

N_FOLD = 6
WEDGE = TAU / N_FOLD


@register("style", "kaleidoscope")
class Kaleidoscope(Style):
    name = "kaleidoscope"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        # One wedge per bar, a quarter in a snap on each beat: the mirror lands on itself at every
        # downbeat, so every bar looks alike.
        rot = WEDGE * bar_turn(s, 0.2 + 0.8 * s.energy)  # (T, 1, 1)
        # Fold the angle into one mirrored wedge: a = |((theta + rot) mod wedge) - wedge/2|.
        a = torch.remainder(g.theta + rot, WEDGE)  # (T, H, W)
        a.sub_(0.5 * WEDGE).abs_()
        # Hats ripple the seams: a small, fast, radius-dependent wobble of the folded angle.
        a.add_((0.06 * s.hats) * torch.sin(9.0 * g.r - 2.0 * TAU * s.beat_phase))
        zoom = 1.0 / (1.0 + 0.6 * s.pulse)  # each hit: zoom in
        r = g.r * zoom  # (T, H, W)
        u = r * torch.cos(a)
        v = r * torch.sin(a)
        # Three soft shapes circling inside the wedge, once per bar.
        swell = 1.0 + 0.8 * s.bass_env
        slide = 0.25 * (s.melody - 0.5)
        field = torch.zeros_like(u)
        accent = torch.zeros_like(u)
        for j, (r0, ph, size) in enumerate(((0.35, 0.0, 0.09), (0.75, 2.1, 0.12), (1.15, 4.2, 0.15))):
            px = r0 + slide + 0.15 * bar_sway(s, ph)
            py = 0.12 + 0.1 * bar_sway(s, ph + 0.5 * math.pi)
            inv = 1.0 / (size * swell)
            d2 = ((u - px) * inv).square_().add_(((v - py) * inv).square_())
            (field if j != 1 else accent).add_(d2.clamp_(max=30.0).neg_().exp_())
        # Energy: an extra stripe layer across the wedge adds detail in busy sections; it travels
        # one stripe per bar.
        stripes = torch.cos((5.0 + 3.0 * s.energy) * u - TAU * s.bar_phase + 2.0 * v)
        stripes.mul_(0.5).add_(0.5).square_().mul_(0.08 + 0.25 * s.energy)
        accent.add_(stripes)
        # Snare: a bright star bursting from the centre.
        star = torch.exp((-(g.r * g.r) / (0.01 + 0.12 * s.snare)).clamp_(min=-30.0)) * s.snare
        field.add_(star)
        gain = 0.15 + 0.6 * s.energy + 0.3 * s.kick
        white = (0.25 * s.snare).unsqueeze(1)
        return shade(field, (s.base + white) * gain.unsqueeze(1), accent, (s.accent + white) * gain.unsqueeze(1))
