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

import torch

from synesthete.registry import register
from synesthete.visual.grid import TAU, Grid
from synesthete.visual.signals import Signals, Style, beat_turn, gauss_, shade


def _ring(acc: torch.Tensor, r: torch.Tensor, radius: torch.Tensor, width: torch.Tensor,
          amp: torch.Tensor, wobble: torch.Tensor | None = None) -> None:
    """acc += amp * exp(-((r - radius - wobble) / width)^2); per-frame radius/width/amp are (T, 1, 1)."""
    d = r - radius  # (T, H, W)
    if wobble is not None:
        d.sub_(wobble)
    gauss_(d.mul_(1.0 / width))
    acc.addcmul_(d, amp.expand_as(d[:, :1, :1]))


@register("style", "rings")
class Rings(Style):
    name = "rings"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        cy = 0.25 * (0.5 - s.melody)  # (T, 1, 1) melody lifts the rings
        dy = g.y - cy  # (T, H, 1)
        dx = g.x.expand(s.n, 1, g.width)
        r = torch.sqrt(dx * dx + dy * dy)  # (T, H, W)
        r.mul_(1.0 / (1.0 + 0.25 * s.pulse))  # every hit throws all the rings outward, then they settle
        theta = torch.atan2(dy.expand_as(r), dx.expand_as(r))
        spin = TAU * beat_turn(s, 0.2 + 0.8 * s.energy)  # one tooth per beat, in a snap
        lvl = 0.12 + 0.35 * s.energy  # resting brightness of every ring
        thick = 0.035 * (1.0 + 0.6 * s.energy)  # (T, 1, 1) ring half-width, image units
        a = torch.zeros_like(r)  # base-coloured rings
        b = torch.zeros_like(r)  # accent-coloured rings
        # Kick: outer ring breathes outward and brightens.
        _ring(a, r, 0.82 * (1.0 + 0.22 * s.kick), thick * (1.0 + s.kick), lvl + 0.9 * s.kick)
        # Snare: a bright ring thrown out past the hats on the hit, fading as it sinks back.
        _ring(b, r, 0.7 * (1.0 + 0.3 * s.snare), thick * 1.5, 1.2 * s.snare)
        # Hats: a toothed ring whose teeth shiver with the hats.
        teeth = (0.02 + 0.05 * s.hats) * torch.cos(12.0 * theta + spin)
        _ring(b, r, 0.6, thick * 0.8, lvl + 0.6 * s.hats, teeth)
        # Bass: a slowly wobbling ring whose radius is the bass pitch.
        wob = (0.03 + 0.08 * s.bass_env) * torch.cos(3.0 * theta - TAU * s.bar_phase)
        _ring(a, r, 0.32 + 0.15 * s.bass_pitch, thick * (1.0 + 0.8 * s.bass_env), lvl + 0.7 * s.bass_env, wob)
        # Melody: a small ring whose radius is the lead's pitch.
        _ring(b, r, 0.06 + 0.18 * s.melody, thick * 0.9, lvl + 0.6 * s.lead_env)
        # Chords: a wide, soft halo at the rim.
        _ring(a, r, torch.full_like(lvl, 1.15), thick * 3.0, 0.5 * lvl + 0.5 * s.chord_env)
        gain = 0.8 + 0.4 * s.energy
        white = (0.3 * s.snare).unsqueeze(1)
        return shade(a, (s.base + white) * gain.unsqueeze(1), b, (s.accent + white) * gain.unsqueeze(1))
