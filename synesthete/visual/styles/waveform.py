"""Waveform: three glowing oscilloscope lines, one each for the drums, the bass and the melody.

The drum line bulges into a bump on every hit (the kick biggest), thickens and flashes on the snare, and
carries a fine, fast ripple from the hats. The bass line undulates slowly with a wavelength set
by the bass pitch and an amplitude by the bass envelope. The melody line sits at a height given
by the melody's pitch and swings with the lead envelope. Beat phase scrolls every wave one
wavelength per beat, section energy adds harmonics and brightness, and the chord colours it.

Each line is y = f(x): f is computed per column (T, 1, W), so the whole image costs only the
distance |y - f(x)| and its soft glow.
"""

from __future__ import annotations

import torch

from synesthete.registry import register
from synesthete.visual.grid import TAU, Grid
from synesthete.visual.signals import Scalar, Signals, Style, addmul_, frame_col, gauss_sq_, shade


def _line(y: torch.Tensor, f: torch.Tensor, width: Scalar) -> torch.Tensor:
    """Soft line (core + glow) at height f(x) (T, 1, W) over rows y (1, H, 1) -> (T, H, W)."""
    inv = 1.0 / width
    q = torch.sub(y * inv, f * inv).square_()  # (T, H, W) squared distance in line widths
    glow = torch.mul(q, 0.08 / 0.35).add_(1.0 / 0.35).reciprocal_()  # 0.35 / (1 + 0.08 q): long soft tail
    return gauss_sq_(q).add_(glow)


@register("style", "waveform")
class Waveform(Style):
    name = "waveform"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        x = g.x
        scroll = TAU * s.beat_phase  # (T, 1, 1) waves move one wavelength per beat
        w0 = 0.03 * (1.0 + 0.4 * s.energy)  # line half-width in image units
        # Drums: kick bump in the middle, hats ripple, snare thickens the line.
        drum = -(0.25 * s.pulse + 0.3 * s.kick) * torch.exp(-(x * x) * 3.0)  # (T, 1, W): a bump on every hit, the kick most
        drum = drum + (0.06 * s.hats) * torch.sin(22.0 * x - 4.0 * TAU * s.beat_phase)
        drum = drum + (0.05 + 0.1 * s.energy) * torch.sin(3.0 * x + scroll)
        drums = _line(g.y, drum, w0 * (1.0 + 1.5 * s.snare))
        # Bass: a slow undulation low in the frame; wavelength from the bass pitch.
        kb = 1.5 + 3.0 * s.bass_pitch
        bass = 0.55 + (0.08 + 0.25 * s.bass_env) * torch.sin(kb * x - scroll - TAU * s.bar_phase)
        bass = bass + (0.08 * s.energy) * torch.sin(2.0 * kb * x + 2.0 * scroll)  # energy: a harmonic
        basses = _line(g.y, bass, w0 * (1.0 + 0.8 * s.bass_env))
        # Melody: a line at the height of the lead's pitch, swinging with each note.
        km = 4.0 + 4.0 * s.melody
        lead = 0.75 * (0.35 - s.melody) + (0.04 + 0.18 * s.lead_env) * torch.sin(km * x + 2.0 * scroll)
        leads = _line(g.y, lead, w0)
        a = drums.mul_(0.45 + 0.6 * s.energy + 0.8 * s.snare + 0.5 * s.kick)
        addmul_(a, basses, 0.3 + 0.5 * s.energy + 0.6 * s.bass_env)
        b = leads.mul_(0.3 + 0.5 * s.energy + 0.6 * s.lead_env)
        gain = 0.35 + 0.65 * s.energy
        white = frame_col(0.3 * s.snare)
        return shade(a, (s.base + white) * frame_col(gain), b, (s.accent + white) * frame_col(gain))
