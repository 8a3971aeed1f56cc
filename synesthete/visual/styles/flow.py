"""Flow: marbled bands of colour carried along a swirling flow field (domain-warped stripes).

The picture is stripes seen through three layers of warping. The bass envelope drives the big, slow
first warp (the whole marble bends with each bass note), every hit surges the second warp (a push
through the fluid; the kick and snare hardest), hats add a fine fast ripple, the snare flashes the bright bands, the melody
moves a spotlight up and down the frame, each beat pushes the bands one stripe on (in a snap), the
warps sway with the bar, section energy tightens the stripes (more detail) and brightens them, and
the chord colours them.
"""

from __future__ import annotations

import math

import torch

from synesthete.registry import register
from synesthete.visual.grid import TAU, Grid
from synesthete.visual.signals import Signals, Style, bar_sway, beat_turn, gauss_, shade


@register("style", "flow")
class Flow(Style):
    name = "flow"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        sw, cw = bar_sway(s), bar_sway(s, 0.5 * math.pi)  # (T, 1, 1) slow sways, once per bar
        # Warp 1 (bass): rows shift sideways, a function of y only -> (T, H, 1), then one full add.
        a1 = 0.25 + 0.45 * s.bass_env
        x1 = g.x + a1 * torch.sin(1.6 * g.y + 0.9 * sw)  # (T, H, W)
        # Warp 2 (a surge on every hit): the vertical coordinate bends along the warped x.
        a2 = 0.2 + 0.4 * s.pulse
        y1 = torch.sin(x1 * 1.9 + 0.9 * cw)
        y1.mul_(a2).add_(g.y)
        # Hats: a fine, fast ripple across the flow, three ripples per beat.
        y1.add_((0.035 * s.hats) * torch.sin(17.0 * x1 - 3.0 * TAU * s.beat_phase))
        # Warp 3: one more fold for the marbled look.
        x2 = torch.sin(y1 * 2.3 - 0.8 * sw)
        x2.mul_(0.3).add_(x1)
        # Stripes across the warped field; energy sets their density, each beat pushes them one
        # stripe on (in a snap), so the picture loops seamlessly from beat to beat.
        k = 3.0 + 3.0 * s.energy
        band = torch.sin(x2 * k + (0.6 * y1) * k - TAU * beat_turn(s, 0.2 + 0.8 * s.energy))  # (T, H, W)
        a = band.mul(0.5).add_(0.5)
        a.mul_(a).mul_(a)  # narrow bright bands
        b = torch.sin(y1 * (0.5 * k) + 1.2 * cw)
        b.mul_(0.5).add_(0.5).mul_(1.0 - a).mul_(0.45)
        # Melody: a broad spotlight at the lead's height.
        spot = gauss_((g.y - 0.8 * (0.5 - s.melody)) * 1.3).mul_(0.6).add_(0.4)  # (T, H, 1)
        a.mul_(spot)
        gain = 0.12 + 0.85 * s.energy + 0.35 * s.kick
        white = (0.5 * s.snare).unsqueeze(1)
        return shade(a, (s.base + white) * gain.unsqueeze(1), b, s.accent * gain.unsqueeze(1))
