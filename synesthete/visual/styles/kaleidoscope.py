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
from synesthete.visual import fastmath as fm
from synesthete.visual.grid import TAU, Grid, derived
from synesthete.visual.signals import (Signals, Style, addmul_, bar_sway, bar_turn, cos, exp_neg_, frame_col, peak, shade,
                                       sin)

N_FOLD = 6
WEDGE = TAU / N_FOLD


@register("style", "kaleidoscope")
class Kaleidoscope(Style):
    name = "kaleidoscope"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        # One wedge per bar, a quarter in a snap on each beat: the mirror lands on itself at every
        # downbeat, so every bar looks alike.
        rot = WEDGE * bar_turn(s, 0.2 + 0.8 * s.energy)  # (T, 1, 1)
        # Fold the angle into one mirrored wedge: a = |((theta + rot) mod wedge) - wedge/2|
        # (the mod as t - floor(t / wedge) wedge: torch's remainder is 10x slower on CPU).
        a = torch.add(g.theta, rot)  # (T, H, W)
        a.sub_(torch.div(a, WEDGE).floor_().mul_(WEDGE)).sub_(0.5 * WEDGE).abs_()
        # Hats ripple the seams: a small, fast, radius-dependent wobble of the folded angle,
        # sin(9 r - p) = sin(9 r) cos p - cos(9 r) sin p with sin(9 r), cos(9 r) cached per size.
        ph = 2.0 * TAU * s.beat_phase
        hat = 0.06 * s.hats
        addmul_(a, derived(g.r, "sin9", lambda r: torch.sin(9.0 * r)), hat * cos(ph))
        addmul_(a, derived(g.r, "cos9", lambda r: torch.cos(9.0 * r)), -hat * sin(ph))
        zoom = 1.0 / (1.0 + 0.6 * s.pulse)  # each hit: zoom in
        r = g.r * zoom  # (T, H, W)
        u = fm.cos(a).mul_(r)
        v = fm.sin_(a).mul_(r)
        r2 = r.square_()  # u^2 + v^2
        # Three soft shapes circling inside the wedge, once per bar: exp(-|(u, v) - p|^2 / size^2),
        # expanded as -(r^2 - 2 p.(u, v) + |p|^2) / size^2 (u^2 + v^2 = r^2): four passes each.
        swell = 1.0 + 0.8 * s.bass_env
        slide = 0.25 * (s.melody - 0.5)
        field = accent = None
        for j, (r0, ph0, size) in enumerate(((0.35, 0.0, 0.09), (0.75, 2.1, 0.12), (1.15, 4.2, 0.15))):
            px = r0 + slide + 0.15 * bar_sway(s, ph0)
            py = 0.12 + 0.1 * bar_sway(s, ph0 + 0.5 * math.pi)
            inv2 = 1.0 / (size * swell) ** 2
            e = torch.mul(r2, -inv2).sub_((px * px + py * py) * inv2)
            addmul_(addmul_(e, u, 2.0 * inv2 * px), v, 2.0 * inv2 * py)
            exp_neg_(e)
            if j != 1:
                field = e if field is None else field.add_(e)
            else:
                accent = e
        assert field is not None and accent is not None
        # Energy: an extra stripe layer across the wedge adds detail in busy sections; it travels
        # one stripe per bar.
        stripes = fm.cos_(u.mul_(5.0 + 3.0 * s.energy).add_(v, alpha=2.0).sub_(TAU * s.bar_phase))
        stripes.mul_(0.5).add_(0.5).square_().mul_(0.08 + 0.25 * s.energy)
        accent.add_(stripes)
        # Snare: a bright star bursting from the centre (nothing to add while the snare is silent).
        if peak(s.snare) > 1e-6:
            r2g = derived(g.r, "square", torch.square)
            star = torch.mul(r2g, -1.0 / (0.01 + 0.12 * s.snare)).clamp_(min=-30.0)
            addmul_(field, fm.exp_(star), s.snare)
        gain = 0.15 + 0.6 * s.energy + 0.3 * s.kick
        white = frame_col(0.25 * s.snare)
        return shade(field, (s.base + white) * frame_col(gain), accent, (s.accent + white) * frame_col(gain))
