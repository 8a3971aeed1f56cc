"""The PSNR ceiling of any causal visualizer: the teacher with its free-running clock unknown.

Every teacher style drifts with `FrameControls.time`, the song's clock (plasma's waves travel,
the kaleidoscope turns, the lattice scrolls), while the music sets the fast motion. A model that
hears a clip from a random place of a song cannot know that clock, so the best it can draw in the
squared-error sense is the teacher averaged over every clock offset: the picture the music alone
determines. `clock_blind_teacher` estimates that average from K random offsets, with everything
else taken exactly from the score (chords, beats, energy, style); it is an upper bound for the
model, which must also infer those from audio.

A K-sample average carries extra variance: against the true teacher its mean squared error is
sigma^2 (1 + 1/K) where the exact average's is sigma^2, so `ceiling_psnr` adds
10 log10(1 + 1/K) dB to the measured PSNR (0.26 dB for K = 16).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import torch

from synesthete.audio.score import FrameControls
from synesthete.metrics.reconstruction import psnr

# Clock offsets are drawn from [0, CLOCK_SPAN) seconds: far longer than any drift period.
CLOCK_SPAN_S = 1000.0


def clock_blind_teacher(ctrl: FrameControls, weights: Mapping[str, float], height: int, width: int,
                        reactivity: float = 1.0, n_clocks: int = 16, seed: int = 0) -> torch.Tensor:
    """(T, 3, H, W): the teacher averaged over `n_clocks` random offsets of its clock."""
    from synesthete.visual.teacher import render_teacher

    if n_clocks < 1:
        raise ValueError(f"n_clocks must be >= 1, got {n_clocks}")
    rng = np.random.default_rng(seed)
    total: torch.Tensor | None = None
    for offset in rng.uniform(0.0, CLOCK_SPAN_S, n_clocks):
        shifted = dataclasses.replace(ctrl, time=np.asarray(ctrl.time) + offset)
        frames = render_teacher(shifted, weights, height, width, reactivity=reactivity)
        total = frames if total is None else total.add_(frames)
    assert total is not None
    return total.div_(n_clocks)


def ceiling_psnr(teacher: torch.Tensor, blind: torch.Tensor, n_clocks: int) -> float:
    """PSNR (dB) of the exact clock-blind average, from a `n_clocks`-sample estimate `blind`."""
    return psnr(blind, teacher) + 10.0 * math.log10(1.0 + 1.0 / n_clocks)
