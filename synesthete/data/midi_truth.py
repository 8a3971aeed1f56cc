"""Ground truth read from a MIDI file, and fluidsynth rendering: shared by the hearing dev set
(scripts/make_dev_set.py) and the training pool of human-written music (synesthete_train.midi_pool).

Why MIDI: the file *is* the score, so the truth is exact. Beats and downbeats come from the file's
tempo map and time signatures (pretty_midi's `get_beats` / `get_downbeats`: a beat is the time
signature's beat, a dotted quarter in 6/8), drum onsets from channel 10's notes (General MIDI
percussion map, grouped into the engine's stems: kick 35/36, snare 37-40 (side stick, snare,
clap), closed hat 42/44, open hat 46, everything else perc), bass onsets from the GM bass programs
32-39. A MIDI file names no chords, so none are read. `grid_fit` tells a file played in without a
click (its written beats are not the music's) from one written on the grid.

pretty_midi and mido are imported where they are used: the core package does not depend on them
(the train package and the dev dependencies do).
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np

# GM percussion (channel 10) note -> the engine's stem (constants.STEMS); unlisted notes are "perc".
GM_DRUM_STEM = {35: "kick", 36: "kick", 37: "snare", 38: "snare", 39: "snare", 40: "snare",
                42: "hat_closed", 44: "hat_closed", 46: "hat_open"}
BASS_PROGRAMS = range(32, 40)  # GM "Bass" family: acoustic, electric (finger, pick), fretless, slap, synth
STEM_KEYS = ("kick", "snare", "hat_closed", "hat_open", "perc", "bass")
GRID_TOLERANCE_S = 0.02  # a note this close to a 16th / triplet position of the tempo map is on the grid
MIN_GRID_FIT = 0.8  # an excerpt with fewer of its notes on the grid has no trustworthy beats


def drum_stem(pitch: int) -> str:
    return GM_DRUM_STEM.get(int(pitch), "perc")


def stem_notes(pm: Any) -> dict[str, list[Any]]:
    """Stem (STEM_KEYS) -> the pretty_midi notes of a PrettyMIDI that sound as it: channel 10's
    by GM_DRUM_STEM, the GM bass programs' as "bass"; other instruments' notes belong to no stem
    here (chords, lead and fx cannot be told apart in a General MIDI file)."""
    stems: dict[str, list[Any]] = {k: [] for k in STEM_KEYS}
    for inst in pm.instruments:
        if inst.is_drum:
            for note in inst.notes:
                stems[drum_stem(note.pitch)].append(note)
        elif inst.program in BASS_PROGRAMS:
            stems["bass"].extend(inst.notes)
    return stems


def has_bass_program(pm: Any) -> bool:
    """Whether a GM bass program plays: only then are the bass onsets the bass the file sounds
    (without one, a piano's left hand or a cello may carry the bass line, unlabelled)."""
    return any(not inst.is_drum and inst.program in BASS_PROGRAMS and inst.notes for inst in pm.instruments)


def _window(times: np.ndarray, start: float, duration: float) -> list[float]:
    t = np.asarray(times, np.float64)
    t = t[(t >= start - 1e-9) & (t < start + duration - 1e-9)] - start
    return [round(float(x), 6) for x in np.unique(np.round(t, 6))]


def ground_truth(pm: Any, start: float, duration: float) -> dict[str, object]:
    """Beats, downbeats, tempo, time signatures and per-stem onsets of [start, start + duration), in
    seconds from `start`."""
    beats = pm.get_beats()
    downbeats = pm.get_downbeats()
    drum_notes: dict[int, list[float]] = {}
    for inst in pm.instruments:
        for note in inst.notes if inst.is_drum else ():
            drum_notes.setdefault(note.pitch, []).append(note.start)
    stems = {k: [n.start for n in notes] for k, notes in stem_notes(pm).items()}
    in_beats = _window(beats, start, duration)
    starts = np.array([n.start for inst in pm.instruments for n in inst.notes])
    starts = starts[(starts >= start) & (starts < start + duration)]
    tempo_times, tempi = pm.get_tempo_changes()
    # the tempo in force at the excerpt's start, then every change inside it
    first = max(0, int(np.searchsorted(tempo_times, start, side="right")) - 1)
    changes = [(max(0.0, float(t) - start), float(b)) for t, b in zip(tempo_times[first:], tempi[first:])
               if t < start + duration]
    sigs = sorted(pm.time_signature_changes, key=lambda s: s.time)
    in_force = [s for s in sigs if s.time <= start + 1e-9][-1:] + [s for s in sigs if start + 1e-9 < s.time < start + duration]
    return {
        "beats": in_beats,
        "downbeats": _window(downbeats, start, duration),
        "tempo_bpm": round(60.0 / float(np.median(np.diff(in_beats))), 3) if len(in_beats) > 1 else 0.0,
        "tempo_changes": [[round(t, 6), round(b, 3)] for t, b in changes],  # quarter notes per minute (MIDI)
        "time_signatures": [[round(max(0.0, s.time - start), 6), s.numerator, s.denominator] for s in in_force],
        "onsets": {k: _window(np.array(v), start, duration) for k, v in stems.items()},
        "drum_notes": {str(p): _window(np.array(v), start, duration) for p, v in sorted(drum_notes.items())},
        "grid_fit": round(grid_fit(starts, beats), 4),
    }


def grid_fit(note_starts: np.ndarray, beats: np.ndarray, tolerance: float = GRID_TOLERANCE_S) -> float:
    """Share of note starts within `tolerance` of the written grid (16ths or triplet 8ths of the
    tempo map's beats). A file played in without a tempo map has notes all over its grid: its
    beats would not be the music's, so such an excerpt is left out of the set."""
    if note_starts.size == 0:
        return 0.0
    if beats.size < 2:
        return 0.0
    beats = np.append(beats, 2 * beats[-1] - beats[-2])  # one more beat: the last one's subdivisions too
    grid = (beats[:-1, None] + np.diff(beats)[:, None] * np.array([0, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4])).ravel()
    grid = np.sort(np.append(grid, beats[-1]))
    i = np.clip(np.searchsorted(grid, note_starts), 1, grid.size - 1)
    dist = np.minimum(np.abs(note_starts - grid[i - 1]), np.abs(note_starts - grid[i]))
    return float(np.mean(dist <= tolerance))


def choose_start(pm: Any, min_start: float, duration: float) -> float:
    """The first downbeat at or after min_start and the first note that leaves `duration` of music."""
    notes = [n.start for inst in pm.instruments for n in inst.notes]
    if not notes:
        raise ValueError("the MIDI file has no notes")
    earliest = max(min_start, min(notes))
    end = pm.get_end_time()
    for d in pm.get_downbeats():
        if d >= earliest - 1e-9 and d + duration <= end:
            return float(d)
    raise ValueError(f"no downbeat after {earliest:.1f} s leaves {duration:.0f} s of music (piece is {end:.1f} s)")


def truncated_midi(src: Path, dst: Path, end_s: float) -> None:
    """A copy of src without any event at or after end_s (so fluidsynth stops there instead of
    rendering the rest of a 25-minute loop), every channel silenced at end_s, as one track;
    controllers and programs before it are kept, so the sound is the same up to end_s."""
    import mido
    import pretty_midi

    mid = mido.MidiFile(str(src))
    pm_ticks = pretty_midi.PrettyMIDI(str(src)).time_to_tick(end_s)
    tracks = []
    for track in mid.tracks:
        new = mido.MidiTrack()
        tick = kept = 0
        for msg in track:
            tick += msg.time
            if msg.type == "end_of_track" or tick >= pm_ticks:
                continue
            new.append(msg.copy(time=tick - kept))
            kept = tick
        if not tracks:  # silence every channel at the cut: fluidsynth renders until no voice sounds
            for ch in range(16):
                for cc in (64, 123, 120):  # sustain pedal up, all notes off, all sound off
                    new.append(mido.Message("control_change", channel=ch, control=cc, value=0, time=pm_ticks - kept))
                    kept = pm_ticks
        # every track ends a beat after the cut, so the player has sent the cut's messages first
        new.append(mido.MetaMessage("end_of_track", time=max(0, pm_ticks - kept) + mid.ticks_per_beat))
        tracks.append(new)
    # one track (type 0): fluidsynth's player reads at most 128 tracks, and some files have more
    out = mido.MidiFile(type=0, ticks_per_beat=mid.ticks_per_beat)
    out.tracks.append(mido.merge_tracks(tracks))
    out.save(str(dst))


def render(midi: Path, wav: Path, soundfont: Path, sample_rate: int, drum_kit: Path | None = None) -> None:
    """Render `midi` to a 16-bit stereo `wav` with fluidsynth. `drum_kit`: a drum-only soundfont (one
    preset in bank 0, as AVL's kits) stacked over `soundfont` at bank offset 128, so its kit plays
    channel 10's standard kit (program 0); other kit programs stay `soundfont`'s."""
    if not shutil.which("fluidsynth"):
        raise RuntimeError("fluidsynth is not installed (scripts/setup.sh installs it)")
    for font in (soundfont, drum_kit):
        if font is not None and not font.exists():
            raise RuntimeError(f"soundfont {font} is missing (scripts/setup.sh installs it)")
    extra = []
    commands = wav.with_name(wav.name + ".fluidsynth")
    if drum_kit is not None:  # fluidsynth's shell command `load FILE RESET BANKOFS`, run after the fonts below
        commands.write_text(f"load {drum_kit} 0 128\n")
        extra = ["-f", str(commands)]
    cmd = ["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(sample_rate), "-T", "wav", "-O", "s16",
           "-F", str(wav), *extra, str(soundfont), str(midi)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True)
    finally:  # nothing left beside the caller's wav
        if extra:
            commands.unlink(missing_ok=True)
    if res.returncode != 0 or not wav.exists():
        raise RuntimeError(f"fluidsynth failed on {midi}: {res.stderr.strip() or res.stdout.strip()}")


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        sr, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM")
        data = np.frombuffer(w.readframes(n), dtype="<i2").reshape(-1, ch)
    return data.astype(np.float32) / 32768.0, sr


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    pcm = np.clip(np.rint(audio * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())


