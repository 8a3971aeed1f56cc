"""MIDI input: bytes from another process over a real JACK MIDI port become ordered MidiEvents."""

import time

import pytest

from synesthete_live.midi_input import MidiError, MidiEvent, MidiInput, decode, list_midi_ports

rtmidi = pytest.importorskip("rtmidi")
JACK = rtmidi.API_UNIX_JACK


def poll_until(midi: MidiInput, n: int, timeout: float = 3.0) -> list[MidiEvent]:
    events, deadline = [], time.monotonic() + timeout
    while len(events) < n and time.monotonic() < deadline:
        events += midi.poll()
        time.sleep(0.005)
    return events


# ------------------------------------------------------------------ decoding (no server needed)
@pytest.mark.parametrize("raw,kind,channel,number,value", [
    ([0x90, 60, 100], "note_on", 0, 60, 100),
    ([0x93, 60, 0], "note_off", 3, 60, 0),  # velocity 0 note_on is a note_off
    ([0x80, 61, 64], "note_off", 0, 61, 64),
    ([0xB5, 7, 127], "cc", 5, 7, 127),
    ([0xC2, 12], "program", 2, 12, 0),
    ([0xE0, 0x00, 0x40], "pitchbend", 0, 0, 0),
    ([0xEF, 0x7F, 0x7F], "pitchbend", 15, 0, 8191),
    ([0xE0, 0x00, 0x00], "pitchbend", 0, 0, -8192),
])
def test_decode_channel_messages(raw, kind, channel, number, value):
    assert decode(raw, 1.5) == MidiEvent(1.5, kind, channel, number, value)


@pytest.mark.parametrize("raw,why", [
    ([], "malformed"), ([0x3C, 0x40], "malformed"), ([0x90, 60], "malformed"),
    ([0x90, 60, 200], "malformed"), ([0xB0, 1, 2, 3], "malformed"),
    ([0xF0, 0x7E, 0x7F, 0x06, 0x01, 0xF7], "ignored"), ([0xF8], "ignored"), ([0xFE], "ignored"),
    ([0xA0, 60, 10], "ignored"), ([0xD0, 10], "ignored"),
])
def test_decode_rejects_what_it_cannot_use(raw, why):
    assert decode(raw, 0.0) == why


# ------------------------------------------------------------------ real JACK MIDI
@pytest.mark.jack
def test_notes_and_ccs_from_another_process_arrive_in_order(jack_server, midi_sender):
    with MidiInput(virtual_name="synesthete-midi-a", api=JACK) as midi:
        sender = midi_sender(to="synesthete-midi-a")
        t0 = time.perf_counter()
        sender.send(0x90, 60, 100)
        sender.send(0xB0, 1, 64)
        sender.send(0x91, 64, 90)
        sender.send(0xE0, 0x00, 0x60)
        sender.send(0x80, 60, 0)
        sender.send(0x91, 64, 0)
        sender.send(0xC0, 5)
        events = poll_until(midi, 7)
        sender.close()
    assert [(e.kind, e.channel, e.number, e.value) for e in events] == [
        ("note_on", 0, 60, 100), ("cc", 0, 1, 64), ("note_on", 1, 64, 90), ("pitchbend", 0, 0, 4096),
        ("note_off", 0, 60, 0), ("note_off", 1, 64, 0), ("program", 0, 5, 0)]
    times = [e.time for e in events]
    assert times == sorted(times) and t0 < times[0] < t0 + 2.0
    assert midi.malformed == midi.dropped == 0


@pytest.mark.jack
def test_malformed_and_unused_bytes_are_counted_not_fatal(jack_server, midi_sender):
    with MidiInput(virtual_name="synesthete-midi-b", api=JACK) as midi:
        sender = midi_sender(to="synesthete-midi-b")
        sender.send(0x3C, 0x40)  # data bytes with no status
        sender.send(0x90, 0x3C)  # truncated note_on
        sender.send(0xF0, 0x7E, 0x7F, 0x06, 0x01, 0xF7)  # sysex
        sender.send(0xF8)  # clock
        sender.send(0x90, 62, 80)
        events = poll_until(midi, 1)
        time.sleep(0.05)
        events += midi.poll()
        sender.close()
    assert [(e.kind, e.number) for e in events] == [("note_on", 62)]
    assert midi.malformed == 2 and midi.ignored == 2


@pytest.mark.jack
def test_open_by_name_with_the_api_detected(jack_server, midi_sender):
    sender = midi_sender()  # offers "<client>:out"
    assert any(sender.client in p for p in list_midi_ports(api=JACK))
    with MidiInput(sender.client) as midi:  # api=None: the default API, else JACK
        assert sender.client in midi.port_name
        time.sleep(0.1)
        sender.send(0xB3, 74, 12)
        events = poll_until(midi, 1)
        sender.close()
    assert [(e.kind, e.channel, e.number, e.value) for e in events] == [("cc", 3, 74, 12)]


@pytest.mark.jack
def test_a_full_queue_keeps_the_newest_and_counts_drops(jack_server, midi_sender):
    with MidiInput(virtual_name="synesthete-midi-c", api=JACK, queue_size=4) as midi:
        sender = midi_sender(to="synesthete-midi-c")
        for cc in range(10):
            sender.send(0xB0, cc, cc)
        sender.close()
        time.sleep(0.1)
        events = midi.poll()
    assert [e.number for e in events] == [6, 7, 8, 9] and midi.dropped == 6


@pytest.mark.jack
def test_unknown_ports_fail_with_the_list(jack_server, midi_sender):
    sender = midi_sender()
    with pytest.raises(MidiError, match=rf"no MIDI input port name contains 'nosuchkeyboard'.*{sender.client}"):
        MidiInput("nosuchkeyboard", api=JACK)
    with pytest.raises(MidiError, match="index 99 is out of range"):
        MidiInput(99, api=JACK)
    sender.close()
