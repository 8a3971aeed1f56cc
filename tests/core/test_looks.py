"""Every registered look, as a specification (a new look is tested the moment it registers), and
the mixer: the style morph crossfades looks, and at rest only one look is drawn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synesthete.looks import LookMixer, build_look, look_names
from synesthete.looks.neural import neural_checkpoint
from synesthete.music_state import MusicState
from synesthete.visual import STYLE_NAMES
from synesthete.visual.synthetic import groove_controls

SIZE = (36, 64)


def needs(name: str):
    if name == "neural" and not neural_checkpoint().is_file():
        return pytest.mark.skip(reason=f"the neural look's pixel model is not at {neural_checkpoint()}")
    return []


LOOKS = [pytest.param(n, marks=needs(n)) for n in look_names()]


@pytest.fixture(scope="module")
def groove() -> MusicState:
    return groove_controls(60, fps=30.0, bpm=120.0, energy=0.8)


def features(look) -> torch.Tensor | None:
    cfg = getattr(look, "cfg", None)
    return None if cfg is None else torch.randn(1, cfg.n_features)


def test_every_style_is_a_look_in_morph_order() -> None:
    names = look_names()
    assert names[: len(STYLE_NAMES)] == tuple(STYLE_NAMES) and "neural" in names
    with pytest.raises(ValueError, match="unknown look 'nope'; looks: flow"):
        build_look("nope")


@pytest.mark.parametrize("name", LOOKS)
def test_a_look_draws_one_frame_at_any_size_in_range(name: str, groove: MusicState) -> None:
    look = build_look(name)
    for h, w in (SIZE, (27, 48), (2, 2)):
        img = look.draw(groove.frame(14), h, w, 1.0, features(look))
        assert img.shape == (3, h, w) and img.dtype == torch.float32
        assert torch.isfinite(img).all() and img.min() >= 0.0 and img.max() <= 1.0


@pytest.mark.parametrize("name", LOOKS)
def test_a_look_follows_the_music(name: str, groove: MusicState) -> None:
    look = build_look(name)
    frames = [look.draw(groove.frame(t), *SIZE, 1.0, features(look)) for t in (10, 14, 29)]
    assert any((a - b).abs().mean() > 1e-3 for a, b in zip(frames, frames[1:])), "the picture never changes"


@pytest.mark.parametrize("name", [n for n in STYLE_NAMES])
def test_a_style_look_draws_what_the_style_draws(name: str, groove: MusicState) -> None:
    from synesthete.visual import get_style

    got = build_look(name).draw(groove.frame(29), *SIZE, 0.7)
    torch.testing.assert_close(got, get_style(name).render(groove.frame(29), *SIZE, 0.7)[0])


def test_at_rest_one_look_is_drawn_and_a_morph_crossfades_two(groove: MusicState) -> None:
    mixer = LookMixer(STYLE_NAMES)
    one = np.zeros(len(STYLE_NAMES))
    one[2] = 1.0
    one[5] = 0.01  # a smoothed weight still settling: below the threshold, not drawn
    img = mixer.draw(groove.frame(14), one, *SIZE)
    assert mixer.drawn == (STYLE_NAMES[2],)
    torch.testing.assert_close(img, build_look(STYLE_NAMES[2]).draw(groove.frame(14), *SIZE))
    half = np.zeros(len(STYLE_NAMES))
    half[[2, 5]] = 0.5
    img = mixer.draw(groove.frame(14), half, *SIZE)
    a, b = (build_look(STYLE_NAMES[i]).draw(groove.frame(14), *SIZE) for i in (2, 5))
    assert mixer.drawn == (STYLE_NAMES[2], STYLE_NAMES[5])
    torch.testing.assert_close(img, 0.5 * a + 0.5 * b)
    with pytest.raises(ValueError, match="expected 8 look weights"):
        mixer.draw(groove.frame(14), np.ones(3), *SIZE)


def _with_kick_onset(state: MusicState, value: float) -> MusicState:
    from synesthete.constants import STEMS

    env, onset = state.env.copy(), state.onset.copy()
    env[:, STEMS.index("kick")] = 0.0  # a smoothed estimate that has not risen yet
    onset[:, STEMS.index("kick")] = value
    return MusicState(**{**state.__dict__, "env": env, "onset": onset})


@pytest.mark.parametrize("name", STYLE_NAMES)
def test_a_style_reacts_on_the_frame_a_hit_is_heard_and_ignores_onset_noise(name: str, groove: MusicState) -> None:
    look = build_look(name)
    quiet = _with_kick_onset(groove.frame(10), 0.0)
    base = look.draw(quiet, *SIZE)
    hit = look.draw(_with_kick_onset(groove.frame(10), 0.9), *SIZE)
    noise = look.draw(_with_kick_onset(groove.frame(10), 0.3), *SIZE)
    assert (hit - base).abs().mean() > 5e-3, "a heard kick must move the picture on its own frame"
    torch.testing.assert_close(noise, base)


def test_an_unsure_beat_glides_instead_of_snapping(groove: MusicState) -> None:
    from synesthete.visual.signals import Signals, bar_turn, beat_turn

    sure = Signals.from_controls(groove)
    unsure = Signals.from_controls(MusicState(**{**groove.__dict__, "confidence": np.zeros_like(groove.confidence)}))
    assert (beat_turn(sure) - sure.beat_phase).abs().max() > 0.1, "a sure beat snaps"
    torch.testing.assert_close(beat_turn(unsure), unsure.beat_phase)  # unsure: the plain phase, no snap
    torch.testing.assert_close(bar_turn(unsure), unsure.bar_phase)
    # A hearing model's beat (confidence ~0.8 on recorded music) runs at an even speed too: its
    # misplaced snaps were motion the music did not have.
    estimate = Signals.from_controls(MusicState(**{**groove.__dict__, "confidence": np.full_like(groove.confidence, 0.8)}))
    torch.testing.assert_close(beat_turn(estimate), estimate.beat_phase)
