"""The clock-blind ceiling: the teacher averaged over its unknown clock bounds any causal model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from synesthete.audio.engine import render_clip
from synesthete.metrics.ceiling import ceiling_psnr, clock_blind_teacher
from synesthete.metrics.reconstruction import psnr
from synesthete.visual.teacher import render_teacher


@pytest.fixture(scope="module")
def song():
    clip = render_clip(10_004, 1.0, sample_rate=24_000)
    ctrl = clip.score.frame_controls(60, 60)
    return ctrl, render_teacher(ctrl, {"plasma": 1.0}, 24, 24)


def test_the_clock_blind_average_beats_a_guess_but_not_the_teacher_itself(song):
    ctrl, teacher = song
    blind = clock_blind_teacher(ctrl, {"plasma": 1.0}, 24, 24, n_clocks=8)
    assert blind.shape == teacher.shape and 0 <= blind.min() and blind.max() <= 1
    # Better than a flat grey of the teacher's own mean level, far from the exact frames.
    flat = torch.full_like(teacher, float(teacher.mean()))
    assert psnr(flat, teacher) < psnr(blind, teacher) < 40
    # A single other clock is one sample of the teacher: worse than the average of eight.
    one = clock_blind_teacher(ctrl, {"plasma": 1.0}, 24, 24, n_clocks=1)
    assert psnr(one, teacher) < psnr(blind, teacher)


def test_ceiling_corrects_for_the_finite_sample(song):
    ctrl, teacher = song
    blind = clock_blind_teacher(ctrl, {"plasma": 1.0}, 24, 24, n_clocks=4, seed=3)
    assert ceiling_psnr(teacher, blind, 4) == pytest.approx(psnr(blind, teacher) + 10 * math.log10(1.25))
    with pytest.raises(ValueError, match="n_clocks"):
        clock_blind_teacher(ctrl, {"plasma": 1.0}, 8, 8, n_clocks=0)


def test_the_same_seed_gives_the_same_ceiling(song):
    ctrl, _ = song
    a = clock_blind_teacher(ctrl, {"plasma": 1.0}, 16, 16, n_clocks=2, seed=7)
    b = clock_blind_teacher(ctrl, {"plasma": 1.0}, 16, 16, n_clocks=2, seed=7)
    assert torch.equal(a, b)
    assert np.isfinite(a.numpy()).all()
