"""Spectrum rings: one glowing concentric ring per voice of the band.

Every hit of any voice throws the whole set outwards (the kick and snare hardest) and it settles back
until the next, so the picture moves once per hit and is calm between. The outer ring breathes with
the kick, a bright ring is thrown out past the toothed ring on each snare, a finely toothed ring
shivers with the hats, a slow wobbling ring follows the bass (its radius the bass pitch), a wide
halo swells with the chords, and a small inner ring tracks the melody's pitch (its radius) while the
melody also lifts the whole set. Beat phase turns the toothed ring one tooth per beat (in a snap),
the bass wobble turns with the bar, section energy brightens every ring and thickens them, and the
chord colours them.
"""

from __future__ import annotations

import numpy as np
import torch

from synesthete.registry import register
from synesthete.visual import fastmath as fm
from synesthete.visual.grid import TAU, Grid, mirrored
from synesthete.visual.signals import Scalar, Signals, Style, addmul_, beat_turn, frame_col, gauss_sq_, peak, shade


def _ring(acc: torch.Tensor | None, r: torch.Tensor, radius: torch.Tensor | float, width: torch.Tensor,
          amp: torch.Tensor, wobble: torch.Tensor | None = None, wobble_amp: torch.Tensor | None = None) -> torch.Tensor:
    """acc + amp * exp(-((r - radius - wobble_amp * wobble) / width)^2), into `acc` (a new field
    when None); per-frame radius/width/amp/wobble_amp are (T, 1, 1)."""
    d = torch.sub(r, radius)
    if wobble is not None and wobble_amp is not None:
        addmul_(d, wobble, -wobble_amp)
    gauss_sq_(d.square_(), 1.0 / (width * width))
    return d.mul_(amp) if acc is None else addmul_(acc, d, amp)


REACH = 5.5  # widths from its radius beyond which a ring's Gaussian is under exp(-30) = 1e-13


def _box(g: Grid, cy: Scalar, reach: float) -> tuple[slice, slice]:
    """The rows and columns within `reach` (image units) of the centre (0, cy) of every frame
    (the columns are symmetric about the centre; either may be empty)."""
    lo, hi = (cy, cy) if isinstance(cy, float) else (float(cy.min()), float(cy.max()))
    ys, xs = (g.y.reshape(-1).cpu().numpy(), g.x.reshape(-1).cpu().numpy())
    r0, r1 = int(np.searchsorted(ys, lo - reach, "left")), int(np.searchsorted(ys, hi + reach, "right"))
    c1 = max(int(np.searchsorted(xs, reach, "right")), g.width // 2)
    return slice(r0, max(r0, r1)), slice(g.width - c1, c1)


@register("style", "rings")
class Rings(Style):
    name = "rings"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        cy = 0.25 * (0.5 - s.melody)  # (T, 1, 1) melody lifts the rings
        # Every hit throws all the rings outward, then they settle: the radius shrinks by `zoom`,
        # applied to the row and column offsets (H + W numbers, not a pass over the image).
        zoom = 1.0 / (1.0 + 0.25 * s.pulse)
        dy = (g.y - cy) * zoom  # (T, H, 1)
        dx = g.x * zoom  # (T, 1, W)
        r = torch.add(dx * dx, dy * dy).sqrt_()  # (T, H, W)
        spin = TAU * beat_turn(s, 0.2 + 0.8 * s.energy)  # one tooth per beat, in a snap
        lvl = 0.12 + 0.35 * s.energy  # resting brightness of every ring
        thick = 0.035 * (1.0 + 0.6 * s.energy)  # (T, 1, 1) ring half-width, image units
        # The rings without a wobble are functions of the radius alone, and the radius is the same
        # in columns mirrored about the centre (the grid is symmetric): they are drawn on the right
        # half only and added to both halves.
        half = r[..., g.width // 2 :]
        # Kick: outer ring breathes outward and brightens.
        a_half = _ring(None, half, 0.82 * (1.0 + 0.22 * s.kick), thick * (1.0 + s.kick), lvl + 0.9 * s.kick)
        # Snare: a bright ring thrown out past the hats on the hit, fading as it sinks back.
        b_half = _ring(None, half, 0.7 * (1.0 + 0.3 * s.snare), thick * 1.5, 1.2 * s.snare)
        # Melody: a small ring whose radius is the lead's pitch.
        _ring(b_half, half, 0.06 + 0.18 * s.melody, thick * 0.9, lvl + 0.6 * s.lead_env)
        # Chords: a wide, soft halo at the rim.
        _ring(a_half, half, 1.15, thick * 3.0, 0.5 * lvl + 0.5 * s.chord_env)
        a, b = mirrored(a_half, g.width), mirrored(b_half, g.width)
        # Hats: a toothed ring whose teeth shiver with the hats; bass: a slowly wobbling ring whose
        # radius is the bass pitch. Both, and the angle they need, are drawn only in the box of
        # rows and columns they reach (beyond REACH widths a ring is under exp(-30)).
        teeth_amp, hat_w = 0.02 + 0.05 * s.hats, thick * 0.8
        wob_amp, bass_r, bass_w = 0.03 + 0.08 * s.bass_env, 0.32 + 0.15 * s.bass_pitch, thick * (1.0 + 0.8 * s.bass_env)
        zoom_min = zoom if isinstance(zoom, float) else float(zoom.min())  # the widest frame's
        reach = max(peak(0.6 + teeth_amp + REACH * hat_w), peak(bass_r + wob_amp + REACH * bass_w)) / zoom_min
        rows, cols = _box(g, cy, reach)
        theta = fm.atan2(dy[:, rows], dx[..., cols])  # the zoom is positive, so the angle is the same
        rb = r[..., rows, cols]
        teeth = fm.cos_(torch.mul(theta, 12.0).add_(spin))  # one tooth per beat, in a snap
        _ring(b[..., rows, cols], rb, 0.6, hat_w, lvl + 0.6 * s.hats, teeth, teeth_amp)
        wob = fm.cos_(theta.mul_(3.0).sub_(TAU * s.bar_phase))
        _ring(a[..., rows, cols], rb, bass_r, bass_w, lvl + 0.7 * s.bass_env, wob, wob_amp)
        gain = 0.8 + 0.4 * s.energy
        white = frame_col(0.3 * s.snare)
        return shade(a, (s.base + white) * frame_col(gain), b, (s.accent + white) * frame_col(gain))
