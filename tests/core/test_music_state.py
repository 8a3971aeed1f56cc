"""The music state contract: one declaration, exact from the score, validated, sliced and joined."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from synesthete.audio.engine import render_clip
from synesthete.constants import STEMS
from synesthete.music_state import CONFIDENCE_GROUPS, FIELD_NAMES, FIELDS, MusicState


@pytest.fixture(scope="module")
def score_state() -> MusicState:
    clip = render_clip(3, 4.0, section="drop")
    return clip.score.music_state(60, 240)


def test_fields_are_declared_once_and_match_the_dataclass() -> None:
    assert tuple(f.name for f in dataclasses.fields(MusicState)) == FIELD_NAMES
    assert [f.columns for f in FIELDS if f.name in ("env", "onset")] == [STEMS, STEMS]


def test_the_score_is_sure_and_follows_the_timing_convention(score_state: MusicState) -> None:
    assert len(score_state) == 240
    assert np.allclose(score_state.time, (np.arange(240) + 1) / 60, atol=1e-6)
    assert np.all(score_state.confidence == 1.0)
    assert score_state.confidence.shape == (240, len(CONFIDENCE_GROUPS))
    assert np.all(score_state.tempo > 0)
    assert score_state.stem("kick").max() > 0  # the seed plays drums


def test_slice_take_frame_concat_round_trip(score_state: MusicState) -> None:
    parts = [score_state.frame(t) for t in range(len(score_state))]
    joined = MusicState.concat(parts)
    for name in FIELD_NAMES:
        assert np.array_equal(getattr(joined, name), getattr(score_state, name)), name
    picked = score_state.take(np.array([5, 1]))
    assert picked.time[0] == score_state.time[5] and picked.time[1] == score_state.time[1]


def test_from_arrays_accepts_tensors_and_names_bad_fields(score_state: MusicState) -> None:
    torch = pytest.importorskip("torch")
    values = {n: torch.from_numpy(getattr(score_state, n)) for n in FIELD_NAMES if n != "confidence"}
    again = MusicState.from_arrays(values)
    assert np.all(again.confidence == 1.0)
    with pytest.raises(ValueError, match="unknown music state field"):
        MusicState.from_arrays({**values, "wobble": values["energy"]})
    with pytest.raises(ValueError, match="energy"):
        MusicState.from_arrays({**values, "energy": values["energy"][:-1]})
    with pytest.raises(ValueError, match="melody"):
        MusicState.from_arrays({**values, "melody": values["melody"] * float("nan")})


def test_silence_and_chord_names() -> None:
    s = MusicState.silence(3, 60.0)
    assert s.validate() == 3 and s.env.max() == 0 and np.all(s.confidence == 0)
    s.chord_root[:] = 9
    s.chord_quality[:] = 1
    assert s.chord_name(0) == "A minor"
    d = s.to_dict()
    assert set(d) == set(FIELD_NAMES) and set(d["env"]) == set(STEMS)
