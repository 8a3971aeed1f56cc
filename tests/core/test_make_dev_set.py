"""The dev set's ground truth is read right from MIDI (tempo map, time signatures, channel 10) and the
rendered audio lines up with it: checked on a small file the test writes itself."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest

from synesthete.data import midi_truth

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("make_dev_set", ROOT / "scripts" / "make_dev_set.py")
make_dev_set = importlib.util.module_from_spec(spec)
sys.modules["make_dev_set"] = make_dev_set
spec.loader.exec_module(make_dev_set)

TPB = 480


def _write_midi(path: Path) -> None:
    """2 bars of 4/4 at 120 BPM, then 2 bars of 3/4 at 90 BPM. Kick on each downbeat, snare on beat 2,
    closed hat on every eighth of bar 1, an electric bass (program 33) on beats 1 and 3 of bar 1."""
    meta = mido.MidiTrack([
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0),
        mido.MetaMessage("time_signature", numerator=3, denominator=4, time=8 * TPB),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90), time=0),
    ])
    events: list[tuple[int, mido.Message]] = []

    def note(tick: int, ch: int, pitch: int, length: int = TPB // 4) -> None:
        events.append((tick, mido.Message("note_on", channel=ch, note=pitch, velocity=100)))
        events.append((tick + length, mido.Message("note_off", channel=ch, note=pitch, velocity=0)))

    for bar_tick in (0, 4 * TPB, 8 * TPB, 11 * TPB):
        note(bar_tick, 9, 36)  # kick
        note(bar_tick + TPB, 9, 38)  # snare
    for k in range(8):
        note(k * TPB // 2, 9, 42)  # closed hat
    note(0, 1, 40, TPB)
    note(2 * TPB, 1, 43, TPB)
    note(14 * TPB - TPB // 4, 9, 49)  # a crash just before the end: perc, and sets the end time
    track = mido.MidiTrack([mido.Message("program_change", channel=1, program=33, time=0)])
    last = 0
    for tick, msg in sorted(events, key=lambda e: (e[0], e[1].type == "note_on")):
        track.append(msg.copy(time=tick - last))
        last = tick
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    mid.tracks += [meta, track]
    mid.save(str(path))


@pytest.fixture(scope="module")
def midi_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("midi") / "song.mid"
    _write_midi(path)
    return path


def test_ground_truth_from_tempo_map_time_signatures_and_channel_10(midi_file: Path) -> None:
    pm = pretty_midi.PrettyMIDI(str(midi_file))
    truth = midi_truth.ground_truth(pm, 0.0, 8.0)
    four = [0.5 * k for k in range(8)]  # 8 beats at 120 BPM
    three = [4.0 + (2 / 3) * k for k in range(6)]  # then 6 at 90 BPM
    assert truth["beats"] == pytest.approx(four + three, abs=1e-5)
    assert truth["downbeats"] == pytest.approx([0.0, 2.0, 4.0, 6.0], abs=1e-5)
    assert truth["onsets"]["kick"] == pytest.approx([0.0, 2.0, 4.0, 6.0], abs=1e-5)
    assert truth["onsets"]["snare"] == pytest.approx([0.5, 2.5, 4 + 2 / 3, 6 + 2 / 3], abs=1e-5)
    assert truth["onsets"]["hat_closed"] == pytest.approx([0.25 * k for k in range(8)], abs=1e-5)
    assert truth["onsets"]["bass"] == pytest.approx([0.0, 1.0], abs=1e-5)
    assert truth["onsets"]["perc"] == pytest.approx([4 + 5.75 * 2 / 3], abs=1e-5)  # the crash (49)
    assert truth["drum_notes"]["36"] == truth["onsets"]["kick"]
    assert truth["time_signatures"] == [[0.0, 4, 4], [4.0, 3, 4]]
    assert truth["tempo_changes"] == [[0.0, 120.0], [4.0, 90.0]]
    assert truth["grid_fit"] == 1.0  # every note on a 16th of the tempo map
    beats = pm.get_beats()
    assert midi_truth.grid_fit(np.array([0.25, 0.5 + 1 / 6, 4 + 2 / 9]), beats) == 1.0  # 16th, triplet 8th, triplet
    assert midi_truth.grid_fit(np.array([0.06, 0.56, 1.06, 1.25]), beats) == 0.25  # played 60 ms off the grid
    # an excerpt: times from its start, only what falls inside, the signature in force at its start
    part = midi_truth.ground_truth(pm, 2.0, 3.0)
    assert part["beats"] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.0 + 2 / 3], abs=1e-5)
    assert part["downbeats"] == pytest.approx([0.0, 2.0], abs=1e-5)
    assert part["time_signatures"] == [[0.0, 4, 4], [2.0, 3, 4]]
    assert midi_truth.choose_start(pm, 1.0, 3.0) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="leaves"):
        midi_truth.choose_start(pm, 1.0, 60.0)


def test_rendered_excerpt_lines_up_with_its_ground_truth(midi_file: Path, tmp_path: Path) -> None:
    # the kicks must sound where the truth says: the audio's energy jumps within 10 ms of each one
    wav = tmp_path / "x.wav"
    make_dev_set.render_excerpt(midi_file, wav, 2.0, 5.0, tmp_path)
    audio, sr = midi_truth.read_wav(wav)
    assert audio.shape == (5 * sr, 2) and 0.85 < np.abs(audio).max() <= 0.91
    mono = audio.mean(axis=1)
    hop = int(0.005 * sr)
    rms = np.sqrt(np.mean(mono[: mono.size // hop * hop].reshape(-1, hop) ** 2, axis=1))  # 5 ms frames
    rise = np.diff(rms)
    for t in (0.0, 2.0, 4.0):  # kick (+ snare-free downbeats) at 2, 4, 6 s of the piece
        k = int(round(t / 0.005))
        window = rise[max(0, k - 2) : k + 2]
        assert window.max() > 5 * np.median(np.abs(rise)) + 1e-4, t
    # the render stopped at the excerpt's end (+ 0.5 s), not the file's: no note starts after the cut
    cut = mido.MidiFile(str(tmp_path / "song.cut.mid"))
    t, starts = 0.0, []
    for msg in cut:  # iterating a MidiFile gives delta times in seconds
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            starts.append(t)
    assert max(starts) < 7.5 and cut.length < 7.5 + 1.0
    played = [n for i in pretty_midi.PrettyMIDI(str(midi_file)).instruments for n in i.notes if n.start < 7.5]
    assert len(starts) == len(played)


# The packages the dev set keeps back for an independent check (the held-out set reads two of them).
RESERVED = {"openttd-openmsx", "simutrans-data", "asc-music", "drascula-music", "fb-music-high"}


def test_each_source_is_a_free_debian_package_not_the_reserved_ones() -> None:
    assert len(make_dev_set.SOURCES) >= 8
    for src in make_dev_set.SOURCES:
        assert src.package not in RESERVED and "pygame" not in src.path
        assert src.licence and src.path.endswith(".mid")
    assert len({s.name for s in make_dev_set.SOURCES}) == len(make_dev_set.SOURCES)
    json.dumps([s.__dict__ for s in make_dev_set.SOURCES])


def test_the_held_out_set_reads_only_the_packages_the_dev_set_leaves_out() -> None:
    held = make_dev_set.HELD_OUT
    assert len(held) >= 8 and {s.package for s in held} <= RESERVED
    assert not {s.path for s in held} & {s.path for s in make_dev_set.SOURCES}
    assert len({s.name for s in held}) == len(held)
    for src in held:
        assert src.licence and src.path.endswith(".mid")
