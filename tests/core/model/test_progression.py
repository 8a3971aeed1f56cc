import numpy as np
import pytest
import torch

from synesthete.config import ValueOutOfRange
from synesthete.model import build_hearing_model
from synesthete.model.config import TrackerConfig, hearing_config
from synesthete.model.progression import ProgressionMemory

BAR = 120  # frames a bar (2 s at 60 fps)
LAG = 20  # frames the head takes to hear a new chord


def song(progression: list[int], bars: int, lag: int = LAG) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true root, the head's root: the true one `lag` frames late, bar phase), (1, T) each."""
    truth = np.repeat([progression[b % len(progression)] for b in range(bars)], BAR)
    head = np.concatenate([np.full(lag, truth[0]), truth[:-lag]])
    phase = (np.arange(truth.shape[0]) % BAR) / BAR
    return truth[None], head[None], phase[None]


def test_a_repeating_progression_is_named_on_the_bar_line_once_it_has_repeated():
    memory = ProgressionMemory(fps=60, window_s=LAG / 60, agreement=0.6)
    truth, head, phase = song([9, 5, 0, 7], bars=16)
    shown, _ = memory.run(head, phase, memory.init_state(1))
    late = head != truth
    # first cycle and the start of the second: nothing repeated yet, the head's own (late) roots
    assert np.array_equal(shown[:, : 5 * BAR], head[:, : 5 * BAR])
    # once two bars match the bars four before them, every bar line after is right from its first frame
    assert np.array_equal(shown[:, 6 * BAR:], truth[:, 6 * BAR:])
    assert late[:, 6 * BAR:].sum() == 10 * LAG  # the head alone was late on each of those bars


def test_roots_that_do_not_repeat_keep_the_heads_own():
    memory = ProgressionMemory(fps=60, window_s=0.5, agreement=0.6)
    rng = np.random.default_rng(0)
    prog = [int(r) for r in rng.permutation(12)]  # 12 bars, no period of 2, 4 or 8
    truth, head, phase = song(prog, bars=12)
    shown, _ = memory.run(head, phase, memory.init_state(1))
    assert np.array_equal(shown, head)


def test_running_frame_by_frame_equals_the_whole_clip_and_leaves_the_state_alone():
    memory = ProgressionMemory(fps=60, window_s=0.3, agreement=0.6)
    t1, h1, p1 = song([2, 2, 7, 9], bars=12)
    t2, h2, p2 = song([4, 11], bars=12, lag=9)
    head, phase = np.concatenate([h1, h2]), np.concatenate([p1, p2])
    start = memory.init_state(2)
    before = [t.clone() for t in start]
    whole, end = memory.run(head, phase, start)
    state, parts = start, []
    for t in range(head.shape[1]):
        out, state = memory.run(head[:, t: t + 1], phase[:, t: t + 1], state)
        parts.append(out)
    assert np.array_equal(np.concatenate(parts, axis=1), whole)
    for a, b in zip(state, end):
        torch.testing.assert_close(a, b)
    for a, b in zip(start, before):
        torch.testing.assert_close(a, b)
    assert not np.array_equal(whole, head)  # it did predict


def test_the_hearing_model_with_the_memory_steps_as_it_runs_whole():
    torch.manual_seed(0)
    model = build_hearing_model(hearing_config("tiny", n_mels=16, tracker={"progression_s": 0.2})).eval()
    feats = torch.randn(2, 90, model.cfg.n_features)
    with torch.inference_mode():
        whole = model.fields(feats)
        state, roots = model.init_state(2), []
        for t in range(feats.shape[1]):
            f, state = model.step(feats[:, t], state)
            roots.append(f["chord_root"])
    assert "chords" in state
    torch.testing.assert_close(torch.stack(roots, dim=1), whole["chord_root"])


@pytest.mark.parametrize("key,value", [("progression_s", -0.1), ("progression_s", 5.0),
                                       ("progression_agreement", 0.0), ("progression_agreement", 1.5)])
def test_bad_settings_are_one_clear_error(key, value):
    with pytest.raises(ValueOutOfRange, match=key):
        TrackerConfig(**{key: value})
