"""ControlState: the VJ's controls move smoothly toward their targets, in model-frame time."""

import numpy as np
import pytest

from synesthete.controls import CONTROL_SPECS, SPECS, ControlState, morph_weights

DT = 1.0 / 60.0


def run(c: ControlState, seconds: float) -> None:
    for _ in range(int(round(seconds / DT))):
        c.step(DT)


def test_a_knob_change_is_smoothed_not_jumped():
    c = ControlState(3)
    c.set("feedback", 0.9)
    c.step(DT)
    first = c.value["feedback"]
    assert 0.0 < first < 0.9 * 0.5, "one frame after the change the value is on its way, not there"
    run(c, 0.5)
    assert c.value["feedback"] == pytest.approx(0.9, abs=0.01)


def test_a_midi_staircase_gives_no_zipper():
    # A 7-bit knob swept fast: targets jump by 1/127 of the range every frame.
    c = ControlState(3)
    values = []
    for k in range(0, 128, 4):
        c.set("hue", k / 127)
        c.step(DT)
        values.append(c.value["hue"])
    steps = np.diff(values)
    assert np.all(steps > 0), "monotonic"
    assert steps.max() < 4 / 127, "never a bigger step than the knob's own"


def test_values_are_clamped_and_bad_names_are_named():
    c = ControlState(2)
    c.set("zoom", 5.0)
    assert c.target["zoom"] == SPECS["zoom"].hi
    c.set("reactivity", -1)
    assert c.target["reactivity"] == 0.0
    with pytest.raises(ValueError, match="unknown control 'warp'.*reactivity"):
        c.set("warp", 1.0)
    with pytest.raises(ValueError, match="action"):
        c.set("next_preset", 1.0)


def test_hue_nudges_wrap_and_mirror_cycles():
    c = ControlState(2)
    c.nudge("hue", -1)
    assert c.target["hue"] == pytest.approx(1.0 - SPECS["hue"].step)
    modes = []
    for _ in range(5):
        c.nudge("mirror", 1)
        modes.append(c.value["mirror"])
    assert modes == [1.0, 2.0, 3.0, 0.0, 1.0], "choices switch at once and wrap"


def test_style_morph_is_a_crossfader_across_the_learned_styles():
    assert morph_weights(0.0, 3).tolist() == [1, 0, 0]
    assert morph_weights(1.0, 3).tolist() == [0, 0, 1]
    assert morph_weights(0.25, 3).tolist() == pytest.approx([0.5, 0.5, 0.0])
    c = ControlState(3, {"style": 0.5})
    vec = c.model_controls()
    assert vec.shape == (4,) and vec.dtype == np.float32
    assert vec[:3].tolist() == pytest.approx([0, 1, 0]) and vec[3] == pytest.approx(1.0)  # reactivity


def test_pinned_preset_weights_hold_until_the_style_control_moves():
    c = ControlState(3, style_weights=[1, 3, 0])
    assert c.style_weights.tolist() == pytest.approx([0.25, 0.75, 0.0])
    c.set("style", 1.0)
    run(c, 0.5)
    assert c.style_weights.tolist() == pytest.approx([0, 0, 1], abs=0.01)
    with pytest.raises(ValueError, match="3 non-negative"):
        c.pin_style_weights([1, -1, 0])


def test_preset_glide_takes_exactly_the_blend_time():
    c = ControlState(2)
    c.glide_to({"feedback": 0.8, "mirror": 2}, seconds=1.0, style_weights=[0, 1])
    assert c.value["mirror"] == 2.0, "choices cut at once"
    run(c, 0.5)
    assert c.value["feedback"] == pytest.approx(0.4, abs=0.03), "halfway (smoothstep is symmetric)"
    assert c.gliding
    run(c, 0.5)
    assert c.value["feedback"] == pytest.approx(0.8) and c.style_weights.tolist() == pytest.approx([0, 1])
    assert not c.gliding


def test_blackout_fades_and_freeze_switches():
    c = ControlState(2)
    c.toggle("blackout")
    c.toggle("freeze")
    c.step(DT)
    fx = c.effects()
    assert fx.freeze is True
    assert 0.0 < fx.blackout < 1.0, "a blackout fades rather than cuts"
    with pytest.raises(ValueError, match="not a toggle"):
        c.toggle("zoom")


def test_replaying_logged_events_gives_the_same_values():
    events = [(0, {"op": "set", "name": "zoom", "value": 0.7}), (10, {"op": "nudge", "name": "hue", "value": 3}),
              (20, {"op": "toggle", "name": "blackout"}),
              (30, {"op": "glide", "values": {"feedback": 0.5}, "seconds": 0.5, "weights": [0.2, 0.8]})]
    a, b = ControlState(2), ControlState(2)
    for frame in range(60):
        for f, e in events:
            if f == frame:
                a.apply(e)
        a.step(DT)
    for frame in range(60):  # the same events, through the direct methods
        if frame == 0:
            b.set("zoom", 0.7)
        if frame == 10:
            b.nudge("hue", 3)
        if frame == 20:
            b.toggle("blackout")
        if frame == 30:
            b.glide_to({"feedback": 0.5}, 0.5, [0.2, 0.8])
        b.step(DT)
    assert a.value == b.value
    assert np.array_equal(a.style_weights, b.style_weights)
    with pytest.raises(ValueError, match="unknown control event op"):
        a.apply({"op": "explode"})


def test_every_control_has_a_spec_with_a_sane_range():
    for s in CONTROL_SPECS:
        assert s.lo <= s.default <= s.hi, s.name
