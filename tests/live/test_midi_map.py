"""MIDI mapping: knobs drive controls (in pick-up mode), pads toggle and trigger, and MIDI learn
binds whatever is touched next to the control that was picked."""

import pytest

from synesthete.controls import ControlState
from synesthete_live.midi_input import MidiEvent
from synesthete_live.midi_map import MidiMap, MidiMapError, MidiSource


def cc(number: int, value: int, channel: int = 0) -> MidiEvent:
    return MidiEvent(0.0, "cc", channel, number, value)


def note(number: int, velocity: int = 100, channel: int = 9) -> MidiEvent:
    return MidiEvent(0.0, "note_on", channel, number, velocity)


def feed(m: MidiMap, c: ControlState, *events) -> list[dict]:
    out = []
    for e in events:
        for ev in m.handle(e, c):
            out.append(ev)
            if ev["op"] != "trigger":
                c.apply(ev)
    return out


def test_sources_parse_and_print_round_trip():
    assert str(MidiSource.parse("cc:21")) == "cc:21"
    s = MidiSource.parse("note:10:36")
    assert (s.kind, s.channel, s.number) == ("note", 9, 36) and str(s) == "note:10:36"
    assert MidiSource.parse("cc:21").matches("cc", 5, 21), "no channel: any channel"
    assert not s.matches("note", 0, 36)
    for bad in ("cc", "knob:1", "cc:200", "cc:0:1", "cc:x"):
        with pytest.raises(MidiMapError, match="expected|must be"):
            MidiSource.parse(bad)


def test_a_knob_sets_a_control_across_its_range_once_picked_up():
    c = ControlState(2)  # reactivity starts at 1.0 = the middle of 0..2
    m = MidiMap({"reactivity": "cc:7"})
    assert feed(m, c, cc(7, 127)) == [], "a knob far from the value does nothing (pick-up mode)"
    assert c.target["reactivity"] == 1.0
    feed(m, c, cc(7, 70), cc(7, 60))  # crossing 63.5 picks the control up
    assert c.target["reactivity"] == pytest.approx(2 * 60 / 127)
    feed(m, c, cc(7, 127))
    assert c.target["reactivity"] == 2.0


def test_a_key_press_makes_the_knob_pick_up_again():
    c = ControlState(2)
    m = MidiMap({"zoom": "cc:1"})
    feed(m, c, cc(1, 0), cc(1, 64))
    assert c.target["zoom"] == pytest.approx(64 / 127)
    c.set("zoom", 0.0)  # the keyboard moved it
    feed(m, c, cc(1, 70))
    assert c.target["zoom"] == 0.0, "the knob must come back to the value first"
    feed(m, c, cc(1, 1))
    assert c.target["zoom"] == pytest.approx(1 / 127)
    assert MidiMap({"zoom": "cc:1"}, pickup=False).handle(cc(1, 127), c)[0]["value"] == 1.0


def test_pads_toggle_cycle_and_trigger():
    c = ControlState(2)
    m = MidiMap({"freeze": "note:36", "mirror": "note:37", "next_preset": "note:38", "blackout": "cc:64"})
    feed(m, c, note(36))
    assert c.target["freeze"] == 1.0
    feed(m, c, MidiEvent(0.0, "note_off", 9, 36, 0))
    assert c.target["freeze"] == 1.0, "note off does not undo a toggle"
    feed(m, c, note(37), note(37))
    assert c.target["mirror"] == 2.0
    assert feed(m, c, note(38)) == [{"op": "trigger", "name": "next_preset"}]
    feed(m, c, cc(64, 127), cc(64, 127), cc(64, 0))
    assert c.target["blackout"] == 1.0, "a CC pad toggles once per press"


def test_midi_learn_binds_the_next_knob_to_the_picked_control():
    c = ControlState(2)
    m = MidiMap({"hue": "cc:3"})
    assert m.learn_state == "off"
    m.learn_toggle()
    assert m.learning and m.learn_state == "pick"
    m.learn_select("feedback")
    assert m.learn_state == "wait" and m.armed == "feedback"
    assert feed(m, c, cc(3, 90, channel=2)) == [], "the learning knob does not also move a control"
    assert m.learn_state == "pick"
    assert m.as_table() == {"feedback": "cc:3:3"}, "the source is taken from hue: one source, one control"
    assert m.learn_toggle() is True, "leaving learn mode reports a changed map (to save)"
    assert not m.learning
    feed(m, c, cc(3, 0, channel=2), cc(3, 50, channel=2))
    assert c.target["feedback"] == pytest.approx(0.95 * 50 / 127)
    with pytest.raises(MidiMapError, match="not in MIDI learn mode"):
        m.learn_select("hue")
    with pytest.raises(ValueError, match="unknown control"):
        MidiMap({"warp": "cc:1"})
