"""Lattice: a rotating grid of glowing square tiles.

Every hit zooms the lattice in (the kick and snare hardest), the kick swells every tile, the snare lights a checkerboard of tiles, hats
jitter the whole lattice by a hair (fine motion), the bass envelope bends the lattice lines in a
slow wave, the melody lights a band of tiles at the height of its pitch, the tiles slide one cell
along the diagonal per bar (a quarter in a snap on each beat) and the lattice rocks with the bar,
section energy makes the tiles smaller and more numerous and brighter, and the chord colours tiles
and grid lines.
"""

from __future__ import annotations

import math

import torch

from synesthete.registry import register
from synesthete.visual import fastmath as fm
from synesthete.visual.grid import TAU, Grid
from synesthete.visual.signals import (Signals, Style, add_wave_, bar_sway, bar_turn, cos, frame_col, gauss_, gauss_sq_, peak,
                                       shade, sin)


@register("style", "lattice")
class Lattice(Style):
    name = "lattice"

    def draw(self, s: Signals, g: Grid) -> torch.Tensor:
        rot = 0.2 * bar_sway(s)  # the lattice rocks once per bar
        cells = (1.6 + 1.2 * s.energy) / (1.0 + 0.3 * s.pulse)  # cells per image unit; each hit zooms in
        c, sn = cos(rot) * cells, sin(rot) * cells  # (T, 1, 1)
        jx = (0.06 * s.hats) * sin(5.0 * TAU * s.beat_phase)  # hats: a hair of jitter, in cells
        jy = (0.06 * s.hats) * cos(4.0 * TAU * s.beat_phase)
        # Lattice coordinates u = x c - y sn + jx, v = x sn + y c + jy: each a column term plus
        # a row term, so waves along v are separable: sin(f v + p) = sin(f X) cos(f Y + p) +
        # cos(f X) sin(f Y + p) with X = x sn (T, 1, W) and Y = y c + jy (T, H, 1), two products of
        # vectors instead of a sin over the image.
        vx, vy = g.x * sn, g.y * c + jy  # (T, 1, W), (T, H, 1)
        # Each bar slides the tiles one cell along the diagonal, a quarter in a snap on each beat:
        # the lattice, its checkerboard included, lands on itself, so every bar looks alike.
        step = bar_turn(s, 0.2 + 0.8 * s.energy)
        u = torch.add(g.x * c + (jx + step), g.y * -sn)  # (T, H, W)
        # Bass: a slow wave bends the lattice lines.
        bend = 0.25 * s.bass_env
        add_wave_(u, 0.8 * vx, 0.8 * vy + 0.9 * bar_sway(s, 0.5 * math.pi), bend)
        vy = vy + step
        v = torch.add(vx, vy)
        fu = (u - torch.round(u)).abs_()  # (T, H, W) 0 at tile centre, 0.5 at its edge
        fv = (v - torch.round(v)).abs_()
        d = torch.maximum(fu, fv)  # square distance from the tile centre
        # Tile outlines at a size the kick swells; line width fixed in image units.
        size = 0.28 + 0.12 * s.kick + 0.04 * bar_sway(s, 1.0)
        width = 0.06 * cells
        tile = gauss_sq_(torch.sub(d, size).square_(), 1.0 / (width * width))
        lines = gauss_sq_(torch.sub(d, 0.5).square_(), 1.0 / (width * width)).mul_(0.35)  # the lattice grid itself
        # Melody: a band of tiles at the lead's height glows.
        band = gauss_((g.y - 0.8 * (0.5 - s.melody)) * 3.0).mul_(0.6 * (0.3 + s.lead_env))  # (T, H, 1)
        a = tile.mul_(0.55 + 0.45 * s.energy)
        # Snare: a checkerboard of tiles lights up (smooth sign of sin(pi u) sin(pi v)); nothing to
        # light while the snare is silent.
        if peak(s.snare) > 1e-6:
            chk = fm.sin_(torch.mul(u, math.pi))
            a.add_(chk.mul_(add_wave_(None, math.pi * vx, math.pi * vy, 1.2 * s.snare)).clamp_(min=0.0))
        fill = (1.0 - 2.0 * d).clamp_(min=0.0).mul_(band)  # soft tile fill inside the band
        b = lines.add_(fill)
        gain = 0.14 + 0.8 * s.energy + 0.3 * s.kick
        white = frame_col(0.3 * s.snare)
        return shade(a, (s.base + white) * frame_col(gain), b, (s.accent + white) * frame_col(gain))
