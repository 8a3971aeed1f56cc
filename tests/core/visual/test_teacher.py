"""The teacher's blend of styles, its weight validation, and the random style draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synesthete.registry import available
from synesthete.visual import STYLE_NAMES, get_style, random_style_weights, render_teacher
from synesthete.visual.synthetic import groove_controls

A, B = "plasma", "tunnel"


@pytest.fixture(scope="module")
def ctrl():
    return groove_controls(12, energy=0.7, start_time=0.9)


def test_at_least_eight_styles_registered_in_sorted_order() -> None:
    assert len(STYLE_NAMES) >= 8
    assert STYLE_NAMES == tuple(sorted(STYLE_NAMES)) == tuple(available("style"))


def test_weight_one_on_a_style_equals_that_style(ctrl) -> None:
    alone = get_style(A).render(ctrl, 24, 40)
    onehot = np.zeros(len(STYLE_NAMES))
    onehot[STYLE_NAMES.index(A)] = 3.0  # normalised to 1
    for weights in ({A: 1.0}, {A: 2.0, B: 0.0}, onehot, list(onehot), torch.tensor(onehot)):
        assert torch.equal(render_teacher(ctrl, weights, 24, 40), alone)


def test_half_half_blend_lies_between_the_two(ctrl) -> None:
    a = get_style(A).render(ctrl, 24, 40)
    b = get_style(B).render(ctrl, 24, 40)
    mix = render_teacher(ctrl, {A: 0.5, B: 0.5}, 24, 40)
    torch.testing.assert_close(mix, 0.5 * a + 0.5 * b)
    assert (mix >= torch.minimum(a, b) - 1e-6).all() and (mix <= torch.maximum(a, b) + 1e-6).all()
    assert (mix - a).abs().mean() > 0.01 and (mix - b).abs().mean() > 0.01


def test_reactivity_is_passed_to_the_styles(ctrl) -> None:
    assert torch.equal(render_teacher(ctrl, {A: 1.0}, 16, 16, reactivity=0.3), get_style(A).render(ctrl, 16, 16, 0.3))


@pytest.mark.parametrize(
    "weights, message",
    [
        ({"nope": 1.0}, "unknown style name"),
        ({A: -1.0, B: 2.0}, ">= 0"),
        ({A: 0.0}, "all zero"),
        (np.zeros(len(STYLE_NAMES)), "all zero"),
        (np.ones(len(STYLE_NAMES) + 1), "entries"),
        ([float("nan")] * len(STYLE_NAMES), "finite"),
    ],
)
def test_bad_weights_give_one_clear_error(ctrl, weights, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_teacher(ctrl, weights, 16, 16)


def test_unknown_style_error_lists_the_known_ones(ctrl) -> None:
    with pytest.raises(ValueError) as err:
        render_teacher(ctrl, {"nope": 1.0, A: 1.0}, 16, 16)
    assert all(name in str(err.value) for name in STYLE_NAMES)


def test_random_weights_are_mostly_single_styles_sometimes_blends_of_two() -> None:
    rng = np.random.default_rng(0)
    draws = np.stack([random_style_weights(rng) for _ in range(1000)])  # (N, n_styles)
    assert draws.dtype == np.float32 and draws.shape == (1000, len(STYLE_NAMES))
    np.testing.assert_allclose(draws.sum(axis=1), 1.0, atol=1e-6)
    assert (draws >= 0).all()
    active = (draws > 0).sum(axis=1)
    assert set(active.tolist()) == {1, 2}
    assert 0.6 < (active == 1).mean() < 0.8
    blends = draws[active == 2]
    assert blends.max(axis=1).min() < 0.85 + 1e-6 and blends.max(axis=1).max() > 0.6
    assert (draws.argmax(axis=1)[:, None] == np.arange(len(STYLE_NAMES))).any(axis=0).all()  # every style drawn
    again = np.stack([random_style_weights(np.random.default_rng(0)) for _ in range(3)])
    assert (again == again[0]).all()
