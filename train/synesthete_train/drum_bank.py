"""Render the General MIDI drum kits of a soundfont into the bank of recorded one-shots the hearing
trainer's songs can play (`data.sampled_drums`; synesthete.audio.drum_kit). The CLI is
`synesthete-drum-bank` (synesthete_train.drum_bank_cli); synesthete-train calls `build` itself when
the bank is missing.

Every drum kit (bank 128) of the soundfont plays each GM percussion note the engine uses
(drum_kit.BANK_NOTES) once, at velocity 100, through fluidsynth at the model's sample rate; each
one-shot is cut from its note-on (no trimming: the sample's own attack delay stays, as in a MIDI
file rendered by a synthesiser, which is how the dev set's truth relates to its audio), up to
--max-seconds, faded out and stored as int16. The default soundfont is TimGM6mb (timgm6mb-soundfont,
GPL-2): its kits are not the dev set's FluidR3 samples, so the dev set stays unseen.

    uv run --locked synesthete-drum-bank [--out runs/drum_bank.npz]
"""

from __future__ import annotations

import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

from synesthete.audio.drum_kit import BANK_NOTES
from synesthete.constants import SAMPLE_RATE
from synesthete.data.midi_truth import read_wav, render

SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
SOUNDFONT_PACKAGE = "timgm6mb-soundfont"
SLOT_SECONDS = 2.0  # one note per slot: the longest one-shot rings out before the next
FADE_SECONDS = 0.02
SILENT_DB = -60.0  # a one-shot ends where it stays this far under its peak


def drum_kits(soundfont: Path) -> list[tuple[int, str]]:
    """(program, name) of the soundfont's drum kits (bank 128), read from its preset headers."""
    data = soundfont.read_bytes()
    i = data.find(b"phdr")
    if i < 0:
        raise ValueError(f"{soundfont} has no preset headers: not a SoundFont")
    size = struct.unpack("<I", data[i + 4:i + 8])[0]
    kits = []
    for k in range(0, size - 38, 38):  # 38-byte records; the last is the terminal "EOP"
        name, program, bank = struct.unpack("<20sHH", data[i + 8 + k:i + 8 + k + 24])
        if bank == 128:
            kits.append((program, name.split(b"\0")[0].decode("latin-1").strip()))
    return sorted(kits)


def kit_midi(path: Path, program: int, notes: tuple[int, ...]) -> None:
    """A MIDI file on channel 10 that selects drum kit `program` and plays each note in its slot."""
    import mido

    tpb = 480  # at 120 BPM a beat is 0.5 s
    slot = int(SLOT_SECONDS * 2 * tpb)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    track.append(mido.Message("program_change", channel=9, program=program, time=0))
    first = tpb  # a beat of silence first: the program change has taken effect
    for k, note in enumerate(notes):
        track.append(mido.Message("note_on", channel=9, note=note, velocity=100, time=first if k == 0 else slot - tpb))
        track.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=tpb))
    track.append(mido.MetaMessage("end_of_track", time=slot))
    mid = mido.MidiFile(type=0, ticks_per_beat=tpb)
    mid.tracks.append(track)
    mid.save(str(path))


def cut_shots(audio: np.ndarray, sr: int, n_notes: int, max_seconds: float) -> list[np.ndarray]:
    """The one-shot of each slot (note-on at 0.5 s + k x SLOT_SECONDS), from its note-on to where it
    falls SILENT_DB under its peak (at most max_seconds), faded out."""
    shots = []
    n_max, n_fade = int(max_seconds * sr), int(FADE_SECONDS * sr)
    for k in range(n_notes):
        i0 = int(round((0.5 + k * SLOT_SECONDS) * sr))
        x = audio[i0:i0 + n_max].astype(np.float32)
        peak = float(np.abs(x).max()) if x.size else 0.0
        if peak == 0.0:
            shots.append(np.zeros(0, np.float32))
            continue
        loud = np.flatnonzero(np.abs(x) > peak * 10 ** (SILENT_DB / 20))
        x = x[: max(int(loud[-1]) + 1, n_fade)]
        x[-n_fade:] *= np.linspace(1.0, 0.0, n_fade, dtype=np.float32)
        shots.append(x)
    return shots


def build(out: Path, soundfont: Path = SOUNDFONT, sample_rate: int = SAMPLE_RATE, max_seconds: float = 0.8) -> dict:
    if not soundfont.exists():
        raise RuntimeError(f"soundfont {soundfont} is missing (scripts/setup.sh installs {SOUNDFONT_PACKAGE})")
    kits = drum_kits(soundfont)
    if not kits:
        raise ValueError(f"{soundfont} has no drum kit (no preset in bank 128)")
    arrays: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for i, (program, name) in enumerate(kits):
            kit_midi(tmp / "kit.mid", program, BANK_NOTES)
            render(tmp / "kit.mid", tmp / "kit.wav", soundfont, sample_rate)
            audio, sr = read_wav(tmp / "kit.wav")
            shots = cut_shots(audio.mean(axis=1), sr, len(BANK_NOTES), max_seconds)
            kept = 0
            for note, x in zip(BANK_NOTES, shots):
                if x.size:
                    arrays[f"{program}/{note}"] = np.clip(np.rint(x / np.abs(x).max() * 0.9 * 32767),
                                                          -32768, 32767).astype(np.int16)
                    kept += 1
            print(f"[{i + 1}/{len(kits)}] kit {program} {name!r}: {kept}/{len(BANK_NOTES)} notes", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part.npz")  # written whole, then renamed: a crash leaves no half bank
    np.savez_compressed(part, sample_rate=np.int64(sample_rate), kit_names=np.array([n for _, n in kits]),
                        source=np.array(f"{soundfont} ({SOUNDFONT_PACKAGE})" if soundfont == SOUNDFONT else str(soundfont)),
                        **arrays)
    part.replace(out)
    return {"kits": len(kits), "shots": len(arrays)}
