"""Particles: a swarm of soft glowing orbs circling a drifting centre, with faked motion trails.

Kick swells every orb, every hit throws the swarm outwards (the snare most), hats jitter the orbs (fine, fast motion),
the bass note sets how wide the swarm drifts, the melody lifts the swarm's centre, the swarm circles
once per bar and each beat kicks it forward, section energy lights up more orbs and brightens them,
and the chord colours them (alternating base and accent colour).

Each orb is a separable Gaussian: exp(-dx^2) (W,) times exp(-dy^2) (H,), so the whole swarm of one
colour is a low-rank field: (H, K) @ (K, W) over its K orbs and trails, one matrix product per
colour instead of K passes over the image. Trails are the same orb drawn at earlier instants of the
same analytic orbit, dimmer: motion blur without any state.
"""

from __future__ import annotations


import math

import torch

from synesthete.audio.composer import BEATS_PER_BAR
from synesthete.registry import register
from synesthete.visual.grid import TAU, Grid, derived
from synesthete.visual.signals import Signals, Style, addmul_, bar_sway, beat_ease, frame_col, gauss_, shade

N_ORBS = 12
TRAIL = ((0.0, 1.0), (0.035, 0.45), (0.07, 0.2))  # (bars back, brightness)


@register("style", "particles")
class Particles(Style):
    name = "particles"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        n = s.n
        # Orb index i and trail j along the last axis: K = N_ORBS * len(TRAIL) per frame.
        dev = g.x.device
        i = torch.arange(N_ORBS, dtype=torch.float32, device=dev).repeat_interleave(len(TRAIL))  # (K,)
        back = torch.tensor([b for b, _ in TRAIL] * N_ORBS, device=dev)  # (K,) bars back
        bright = torch.tensor([v for _, v in TRAIL] * N_ORBS, device=dev)  # (K,)
        i, back, bright = i.view(1, 1, -1), back.view(1, 1, -1), bright.view(1, 1, -1)  # (1, 1, K)
        # (T, 1, 1) drifting centre, swaying once per bar: the bass pitch sets how far, each bass
        # note gives it a shove.
        cx = (0.2 + 0.3 * s.bass_pitch) * bar_sway(s) + 0.2 * s.bass_env * bar_sway(s, 1.0)
        cy = 0.5 * (0.5 - s.melody) + 0.1 * bar_sway(s, 0.5 * math.pi) + 0.12 * s.bass_env
        # Each beat kicks the swarm forward round its orbit, settling before the next beat (the
        # kick term is 0 on every beat, so the orbit never jumps).
        snap = (0.5 * TAU / N_ORBS) * (beat_ease(s.beat_phase) - s.beat_phase) * (0.2 + 0.8 * s.energy) * s.beat_conf
        burst = 1.0 + 0.4 * s.pulse + 0.5 * s.snare  # every hit throws the swarm out, the snare most
        size = 0.075 * (1.0 + 0.9 * s.kick) * (0.8 + 0.4 * s.energy)
        inv_size = 1.0 / size
        # Energy decides how many orbs are lit: a calm passage shows a few dim ones.
        lit = (s.energy * N_ORBS * 1.1 + 3.0 - i).clamp(0.0, 1.0) * (0.35 + 0.65 * s.energy)  # (T, 1, K)
        ring = 0.3 + 0.12 * torch.remainder(i, 4.0)
        # One orbit per bar; a trail is the same orb a little earlier: its angle in the bar (p) and
        # in the beat (q) at that instant.
        p = TAU * (s.bar_phase - back)  # (T, 1, K)
        q = TAU * (s.beat_phase - BEATS_PER_BAR * back)
        ang = p + snap + TAU * i / N_ORBS
        rad = ring * burst * (1.0 + 0.25 * torch.sin(p + 1.7 * i))
        jx = 0.05 * s.hats * torch.sin(5.0 * q + 2.1 * i)  # hats: fine jitter
        jy = 0.05 * s.hats * torch.cos(4.0 * q + 1.3 * i)
        px = cx + rad * torch.cos(ang) + jx  # (T, 1, K)
        py = cy + rad * torch.sin(ang) + jy
        gx = gauss_((g.x.view(1, -1, 1) - px) * inv_size)  # (T, W, K)
        gy = gauss_((g.y.view(1, -1, 1) - py) * inv_size).mul_(lit * bright)  # (T, H, K)
        even = (torch.remainder(i, 2.0) == 0).view(-1)  # base-coloured orbs; odd ones accent-coloured
        a = torch.bmm(gy[..., even], gx[..., even].transpose(1, 2))  # (T, H, W)
        b = torch.bmm(gy[..., ~even], gx[..., ~even].transpose(1, 2))
        gain = 0.6 + 0.6 * s.energy + 0.4 * s.kick
        glow = derived(g.r, "glow", lambda r: torch.exp(-(r * r) * 1.5))  # a per-size constant
        addmul_(b, glow, 0.06 + 0.1 * s.energy)  # faint background glow
        white = frame_col(0.5 * s.snare)
        return shade(a, (s.base + white) * frame_col(gain), b, (s.accent + white) * frame_col(gain))
