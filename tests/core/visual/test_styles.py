"""Every registered style, as a specification: shape, range, determinism, statelessness, reactions.

Controls come from `groove_controls` (120 BPM at 30 fps: a beat every 15 frames, the first kick
at frame 14, snares on beats 2 and 4), so the musical moment of each frame is known exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from synesthete.music_state import MusicState
from synesthete.constants import STEMS
from synesthete.visual import STYLE_NAMES, get_style
from synesthete.visual.synthetic import groove_controls

KICK_FRAME = 29  # beat 2 (0-based) of the first bar: a kick, no snare
SNARE_FRAME = 44  # beat 3: kick and snare together


def without(ctrl: MusicState, *stems: str) -> MusicState:
    """The same controls with the given stems silent (envelope and onsets zero)."""
    env, onset = ctrl.env.copy(), ctrl.onset.copy()
    for s in stems:
        env[:, STEMS.index(s)] = 0.0
        onset[:, STEMS.index(s)] = 0.0
    return MusicState(**{**ctrl.__dict__, "env": env, "onset": onset})


@pytest.fixture(scope="module")
def groove() -> MusicState:
    return groove_controls(60, fps=30.0, bpm=120.0, energy=0.8)


@pytest.mark.parametrize("name", STYLE_NAMES)
@pytest.mark.parametrize("size", [(64, 64), (48, 80), (37, 23), (1, 5), (256, 96)])
def test_shape_range_finite(name: str, size: tuple[int, int], groove: MusicState) -> None:
    h, w = size
    out = get_style(name).render(groove.slice(26, 32), h, w)  # around a kick
    assert out.shape == (6, 3, h, w) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("name", STYLE_NAMES)
def test_deterministic_and_slice_equals_whole(name: str, groove: MusicState) -> None:
    style = get_style(name)
    whole = style.render(groove, 48, 64)
    assert torch.equal(whole, style.render(groove, 48, 64))
    for a, b in [(0, 1), (13, 31), (40, 60)]:
        part = style.render(groove.slice(a, b), 48, 64)
        torch.testing.assert_close(part, whole[a:b], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", STYLE_NAMES)
def test_one_frame_draws_what_a_clip_draws_for_that_frame(name: str, groove: MusicState) -> None:
    """A single frame (the live and render path: per-frame signals are floats, see `Signals`) gives
    the picture of that frame in a clip's render (tensors over frames), also where either is drawn
    in bands of rows (a clip's frame of 540x560 is over a band's pixels; a single frame of
    1024x1040 is over `FRAME_ELEMENTS`)."""
    style = get_style(name)
    whole = style.render(groove, 48, 64)
    for t in (KICK_FRAME - 1, KICK_FRAME, SNARE_FRAME, 51):
        torch.testing.assert_close(style.render(groove.frame(t), 48, 64)[0], whole[t], atol=1e-5, rtol=0)
    for h, w in ((540, 560), (1024, 1040)):
        big = style.render(groove.slice(SNARE_FRAME, SNARE_FRAME + 2), h, w)
        torch.testing.assert_close(style.render(groove.frame(SNARE_FRAME), h, w)[0], big[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", STYLE_NAMES)
def test_a_frame_depends_on_the_music_not_on_how_long_the_song_has_played(name: str, groove: MusicState) -> None:
    """No clock: the same moment of the beat and bar, heard later in the song, draws the same frame.
    (A model that starts listening mid-song could never know the clock, so a teacher using one
    would set it an impossible target.)"""
    style = get_style(name)
    later = MusicState(**{**groove.__dict__, "time": groove.time + 977.3, "beat_count": groove.beat_count + 1954.0})
    torch.testing.assert_close(style.render(later, 48, 64), style.render(groove, 48, 64), atol=0, rtol=0)
    # ...while the beat and the bar do move the picture.
    shifted = MusicState(**{**groove.__dict__, "beat_phase": np.mod(groove.beat_phase + 0.3, 1.0),
                                "bar_phase": np.mod(groove.bar_phase + 0.3, 1.0)})
    assert (style.render(shifted, 48, 64) - style.render(groove, 48, 64)).abs().mean() > 0.005


@pytest.mark.parametrize("name", STYLE_NAMES)
@pytest.mark.parametrize("bar_end", [0.25, 1.0])  # the end of a beat inside the bar, and of the bar
def test_motion_loops_seamlessly_across_beats_and_bars(name: str, bar_end: float, groove: MusicState) -> None:
    """Beat- and bar-locked motion never jumps: the instant before a beat (or a downbeat) and the
    beat itself draw the same picture, everything else held equal."""
    eps = 1e-5
    moment = groove.slice(20, 21)
    before = MusicState(**{**moment.__dict__, "beat_phase": np.float32([1.0 - eps]),
                              "bar_phase": np.float32([bar_end - eps])})
    on = MusicState(**{**moment.__dict__, "beat_phase": np.float32([0.0]), "bar_phase": np.float32([bar_end % 1.0])})
    style = get_style(name)
    assert (style.render(before, 48, 64) - style.render(on, 48, 64)).abs().max() < 1e-3


@pytest.mark.parametrize("name", STYLE_NAMES)
def test_kick_and_snare_give_clear_reactions(name: str, groove: MusicState) -> None:
    style = get_style(name)
    # Styles are stateless, so the two moments can be rendered on their own.
    ctrl = groove.take(np.array([KICK_FRAME, SNARE_FRAME]))
    i_kick, i_snare = 0, 1
    full = style.render(ctrl, 64, 64)
    no_kick = style.render(without(ctrl, "kick"), 64, 64)
    no_snare = style.render(without(ctrl, "snare"), 64, 64)
    assert (full[i_kick] - no_kick[i_kick]).abs().mean() > 0.03, "kick barely changes the frame"
    assert (full[i_snare] - no_snare[i_snare]).abs().mean() > 0.03, "snare barely changes the frame"


@pytest.mark.parametrize("name", STYLE_NAMES)
def test_hats_and_bass_change_the_picture(name: str, groove: MusicState) -> None:
    style = get_style(name)
    ctrl = groove.slice(SNARE_FRAME, SNARE_FRAME + 4)  # a closed hat lands on this beat too
    full = style.render(ctrl, 64, 64)
    for stems, margin in ((("hat_closed", "hat_open", "perc"), 0.005), (("bass",), 0.02)):
        muted = style.render(without(ctrl, *stems), 64, 64)
        assert (full - muted).abs().mean() > margin, f"{stems} have no visible effect"


@pytest.mark.parametrize("name", STYLE_NAMES)
def test_reactivity_scales_the_reactions(name: str, groove: MusicState) -> None:
    style = get_style(name)
    ctrl = groove.slice(KICK_FRAME, KICK_FRAME + 3)
    calm_drums = without(ctrl, *STEMS)
    # At reactivity 0 the onsets do nothing: the frame equals the one with every stem silent.
    torch.testing.assert_close(style.render(ctrl, 32, 32, 0.0), style.render(calm_drums, 32, 32, 0.0))
    weak = (style.render(ctrl, 32, 32, 0.5) - style.render(calm_drums, 32, 32, 0.5)).abs().mean()
    strong = (style.render(ctrl, 32, 32, 1.5) - style.render(calm_drums, 32, 32, 1.5)).abs().mean()
    assert strong > weak


@pytest.mark.parametrize("name", STYLE_NAMES)
def test_calm_music_is_dark_and_still(name: str) -> None:
    calm = groove_controls(30, energy=0.0, drums=False)
    out = get_style(name).render(calm, 64, 64)
    calm_change = (out[1:] - out[:-1]).abs().mean()
    assert out.mean() < 0.06, "calm passage should be dark"
    assert calm_change < 0.006, "calm passage should change slowly, without flicker"
    lively = get_style(name).render(groove_controls(30, energy=0.8), 64, 64)
    assert lively.mean() > 2.0 * out.mean()
    assert (lively[1:] - lively[:-1]).abs().mean() > 5.0 * calm_change


@pytest.mark.parametrize("name", STYLE_NAMES)
def test_chord_root_changes_the_palette(name: str) -> None:
    c_major = get_style(name).render(groove_controls(20, chord_root=0, chord_quality=0), 32, 32)
    fs_major = get_style(name).render(groove_controls(20, chord_root=6, chord_quality=0), 32, 32)
    mean_c = c_major.mean(dim=(0, 2, 3))  # (3,) average colour
    mean_fs = fs_major.mean(dim=(0, 2, 3))
    assert (mean_c - mean_fs).abs().max() > 0.05


@pytest.mark.parametrize("name", STYLE_NAMES)
def test_resolution_independent(name: str, groove: MusicState) -> None:
    """The picture scales with the image: 128x128 box-downsampled looks like the 64x64 render."""
    ctrl = groove.slice(KICK_FRAME - 1, KICK_FRAME + 4)
    small = get_style(name).render(ctrl, 64, 64)
    big = F.avg_pool2d(get_style(name).render(ctrl, 128, 128), 2)
    assert (small - big).abs().mean() < 0.03
    # A wider canvas shows the same centre, with more of the world at the sides.
    wide = get_style(name).render(ctrl, 64, 128)
    assert (wide[..., 32:96] - small).abs().mean() < 0.03


def test_bad_input_gives_one_clear_error(groove: MusicState) -> None:
    style = get_style(STYLE_NAMES[0])
    with pytest.raises(ValueError, match="reactivity"):
        style.render(groove, 32, 32, reactivity=-1.0)
    with pytest.raises(ValueError, match="image size"):
        style.render(groove, 0, 32)
    broken = MusicState(**{**groove.__dict__, "energy": groove.energy[:-1]})
    with pytest.raises(ValueError, match="energy"):
        style.render(broken, 32, 32)
    nan = MusicState(**{**groove.__dict__, "melody": np.full_like(groove.melody, np.nan)})
    with pytest.raises(ValueError, match="melody"):
        style.render(nan, 32, 32)


def test_empty_clip_gives_no_frames(groove: MusicState) -> None:
    assert get_style(STYLE_NAMES[0]).render(groove.slice(0, 0), 16, 24).shape == (0, 3, 16, 24)


@pytest.mark.parametrize("width", [1, 2, 23, 64])
def test_a_field_of_the_distance_from_the_centre_line_drawn_on_half_the_columns_mirrors_whole(width: int) -> None:
    from synesthete.visual.grid import get_grid, mirrored

    g = get_grid(5, width)
    whole = torch.cos(3.0 * g.xx.abs()) * g.yy  # symmetric about the vertical centre line
    # (the grid is symmetric to a float32 rounding of x: ~5e-7)
    torch.testing.assert_close(mirrored(whole[..., width // 2 :], width), whole, atol=1e-5, rtol=0)
