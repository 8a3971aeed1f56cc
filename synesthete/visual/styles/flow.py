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
from synesthete.visual import fastmath as fm
from synesthete.visual.grid import TAU, Grid
from synesthete.visual.signals import Signals, Style, addmul_, bar_sway, beat_turn, frame_col, gauss_, shade


@register("style", "flow")
class Flow(Style):
    name = "flow"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        sw, cw = bar_sway(s), bar_sway(s, 0.5 * math.pi)  # (T, 1, 1) slow sways, once per bar
        # Warp 1 (bass): rows shift sideways, a function of y only -> (T, H, 1), then one full add.
        a1 = 0.25 + 0.45 * s.bass_env
        shift = a1 * torch.sin(1.6 * g.y + 0.9 * sw)  # (T, H, 1); x1 = x + shift (never formed)
        # Warp 2 (a surge on every hit): the vertical coordinate bends along the warped x,
        #   y1 = y + a2 sin(1.9 x1 + 0.9 cw) + 0.035 hats sin(17 x1 - 3 tau beat_phase),
        # and hats add a fine, fast ripple across the flow, three ripples per beat. x1 is x plus a
        # row shift, so each wave is separable (sin(f x + p) = sin(f x) cos p + cos(f x) sin p):
        # both are one (H, 4) @ (4, W) product with cached columns, no sin over the image.
        a2 = 0.2 + 0.4 * s.pulse
        p2 = 1.9 * shift + 0.9 * cw  # (T, H, 1) phases per row
        p3 = 17.0 * shift - 3.0 * TAU * s.beat_phase
        hat = 0.035 * s.hats
        rows = torch.cat([a2 * torch.cos(p2), a2 * torch.sin(p2), hat * torch.cos(p3), hat * torch.sin(p3)], dim=2)
        # The product gives u = 2.3 y1 - 0.8 sw, the argument of warp 3, at once; everything else
        # reads y1 through an affine map, folded into its coefficients: y1 = (u + 0.8 sw) / 2.3.
        u = torch.baddbmm((2.3 * g.y - 0.8 * sw).expand(s.n, -1, 1), 2.3 * rows, g.x_waves(1.9, 17.0).expand(s.n, -1, -1))
        # Warp 3: one more fold for the marbled look, x2 = x1 + 0.3 sin(u).
        fold = fm.sin(u)
        # Stripes across the warped field, sin(k (x2 + 0.6 y1) - tau turn); energy sets their
        # density, each beat pushes them one stripe on (in a snap), so the picture loops seamlessly
        # from beat to beat.
        k = 3.0 + 3.0 * s.energy
        k_y1 = 0.6 * k / 2.3  # 0.6 k y1 = k_y1 (u + 0.8 sw)
        band = torch.add(k * g.x, k * shift + k_y1 * 0.8 * sw - TAU * beat_turn(s, 0.2 + 0.8 * s.energy))
        addmul_(addmul_(band, fold, 0.3 * k), u, k_y1)
        a = fm.sin_(band).mul_(0.5).add_(0.5)  # (T, H, W)
        a.mul_(a).mul_(a)  # narrow bright bands
        # Second colour: 0.45 (0.5 sin(0.5 k y1 + 1.2 cw) + 0.5) (1 - a).
        b = fm.sin_(u.mul_(0.5 * k / 2.3).add_(0.5 * k * 0.8 / 2.3 * sw + 1.2 * cw))
        b.mul_(0.225).add_(0.225)
        b.addcmul_(b, a, value=-1.0)
        # Melody: a broad spotlight at the lead's height.
        spot = gauss_((g.y - 0.8 * (0.5 - s.melody)) * 1.3).mul_(0.6).add_(0.4)  # (T, H, 1)
        a.mul_(spot)
        gain = 0.12 + 0.85 * s.energy + 0.35 * s.kick
        white = frame_col(0.5 * s.snare)
        return shade(a, (s.base + white) * frame_col(gain), b, s.accent * frame_col(gain))
