"""Tunnel: flying down a ringed, segmented tube.

Every hit zooms the flight forward (the rings jump towards the viewer; the kick and snare hardest), snare flashes the walls white,
hats add fine ripples running round the walls, the bass bends the tube's mouth, the melody lifts
the vanishing point, the segments turn one segment per bar in a snap on every beat, the flight
moves one ring per bar, section energy
brightens the walls and adds segments' contrast, and the chord colours the rings.
"""

from __future__ import annotations

import math

import torch

from synesthete.registry import register
from synesthete.visual import fastmath as fm
from synesthete.visual.grid import TAU, Grid
from synesthete.visual.signals import Signals, Style, addmul_, bar_sway, bar_turn, frame_col, peak, shade

N_SEGMENTS = 8  # integer, so the angular pattern is continuous across theta = +-pi


@register("style", "tunnel")
class Tunnel(Style):
    name = "tunnel"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        # Vanishing point: a slow sway once per bar, lifted by the melody.
        cx = 0.18 * bar_sway(s)  # (T, 1, 1)
        cy = 0.35 * (0.5 - s.melody) + 0.08 * bar_sway(s, 0.5 * math.pi)
        dx = g.x - cx  # (T, 1, W)
        dy = g.y - cy  # (T, H, 1)
        r = torch.add(dx * dx, dy * dy).sqrt_()  # (T, H, W)
        theta = fm.atan2(dy, dx)
        # The bass squeezes the mouth into an ellipse-ish shape that turns with the bar.
        squeeze = fm.cos_(torch.mul(theta, 2.0).add_(TAU * s.bar_phase))
        r.addcmul_(r, squeeze.mul_(0.25 * s.bass_env))
        # Depth along the tube; each hit pushes the viewer forward (zoom).
        # Log depth: ring spacing proportional to the radius, as in perspective.
        depth = fm.log_(torch.add(r, 0.03)).mul_(-1.6)
        # Flight: one ring per bar, so the tube looks the same at every downbeat.
        depth.add_(s.bar_phase + 0.45 * s.pulse)
        # Hats: fine ripples that run round the walls (nothing to add while the hats are silent).
        if peak(s.hats) > 1e-6:
            ripple = fm.sin_(torch.mul(theta, 4 * N_SEGMENTS).sub_(2.0 * TAU * s.beat_phase))
            addmul_(depth, ripple, 0.06 * s.hats)
        rings = fm.cos_(depth.mul_(TAU))  # (T, H, W)
        rings.mul_(0.5).add_(0.5)
        rot = TAU * bar_turn(s, 0.2 + 0.8 * s.energy)  # one segment per bar, in snaps on the beats
        segs = fm.cos_(theta.mul_(N_SEGMENTS).add_(rot))
        segs.mul_(0.5 + 0.5 * s.energy).add_(0.5)  # energy: stronger segment contrast
        # Fog near the vanishing point hides the ever-finer rings (no aliasing).
        fog = r.sub_(0.12).mul_(2.4).clamp_(0.0, 1.0)
        fog.mul_(fog)
        a = segs.mul_(rings).mul_(fog)  # (T, H, W)
        b = rings.neg_().add_(1.0).mul_(fog).mul_(0.5)
        gain = 0.22 + 0.78 * s.energy + 0.5 * s.kick
        white = frame_col(0.7 * s.snare)  # (T, 1, 1, 1) flash towards white
        return shade(a, (s.base + white) * frame_col(gain), b, (s.accent + white) * frame_col(gain * 0.6))
