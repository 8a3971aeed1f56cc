"""Render the General MIDI drum kits of several soundfonts into the bank of recorded one-shots the
hearing trainer's songs can play (`data.sampled_drums`; synesthete.audio.drum_kit). The CLI is
`synesthete-drum-bank` (synesthete_train.drum_bank_cli); synesthete-train calls `build` itself when
the bank is missing.

Every drum kit of each soundfont (its bank-128 presets; a drum-only soundfont such as AVL's, one
preset in bank 0, is one kit played on a melodic channel) plays each GM percussion note the engine
uses (drum_kit.BANK_NOTES) once, at velocity 100, through fluidsynth at the model's sample rate;
each one-shot is cut from its note-on (no trimming: the sample's own attack delay stays, as in a
MIDI file rendered by a synthesiser, which is how the dev set's truth relates to its audio), up to
--max-seconds, faded out and stored as int16. The default soundfonts (SOUNDFONTS) are five kinds of
drum sound from four Debian packages, none of them FluidR3 or made from it, so the dev and
recorded sets (rendered with FluidR3_GM) stay unheard: TimGM6mb's 8 small sampled kits, csound's GM
bank, two multi-sampled acoustic kits from AVL (avldrums.lv2) and an OPL3 FM chip's kit.

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

# The soundfonts training renders with (here and synesthete_train.midi_pool), none FluidR3 or made from it.
SF2 = Path("/usr/share/sounds/sf2")
TIMGM6MB = SF2 / "TimGM6mb.sf2"  # 8 small GM kits (Standard ... Orchestra), GPL-2
CSOUND_GM = SF2 / "sf_GMbank.sf2"  # csound's GM bank: 9 kits, many sharing TimGM6mb's samples
# multi-sampled acoustic 4-piece kits, GPL-2+
AVL_KITS = (SF2 / "Black_Pearl_4_LV2.sf2", SF2 / "Red_Zeppelin_4_LV2.sf2")
OPL3 = SF2 / "OPL-3_FM_128M.sf2"  # an OPL3 FM chip's sounds: synthesis unlike the engine's
# (soundfont, the Debian package that installs it); scripts/setup.sh installs them all.
SOUNDFONTS: tuple[tuple[Path, str], ...] = (
    (TIMGM6MB, "timgm6mb-soundfont"),
    (CSOUND_GM, "csound-soundfont"),
    *((kit, "avldrums.lv2-soundfont") for kit in AVL_KITS),
    (OPL3, "opl3-soundfont"),
)
SOUNDFONT, SOUNDFONT_PACKAGE = SOUNDFONTS[0]
SFX_PROGRAM = 56  # the GS "SFX" set plays sound effects (a car, a laugh) on the drum notes: not a kit
# A drum-only soundfont (AVL's) maps only a drum set's own pieces; on the other GM percussion notes
# (congas, claves, a clap ...) it plays whatever piece is nearest, which would be labelled perc or
# clap. Its kits keep these notes only (the song's clap and perc stay synthesised).
DRUM_ONLY_NOTES = (35, 36, 38, 40, 41, 42, 43, 45, 46, 47, 48, 50)
SLOT_SECONDS = 2.0  # one note per slot: the longest one-shot rings out before the next
FADE_SECONDS = 0.02
SILENT_DB = -60.0  # a one-shot ends where it stays this far under its peak


def presets(soundfont: Path) -> list[tuple[int, int, str]]:
    """(bank, program, name) of every preset of the soundfont, read from its preset headers."""
    data = soundfont.read_bytes()
    i = data.find(b"phdr")
    if i < 0:
        raise ValueError(f"{soundfont} has no preset headers: not a SoundFont")
    size = struct.unpack("<I", data[i + 4:i + 8])[0]
    out = []
    for k in range(0, size - 38, 38):  # 38-byte records; the last is the terminal "EOP"
        name, program, bank = struct.unpack("<20sHH", data[i + 8 + k:i + 8 + k + 24])
        out.append((bank, program, name.split(b"\0")[0].decode("latin-1").strip()))
    return out


def drum_kits(soundfont: Path) -> list[tuple[int, int, str]]:
    """(bank, program, name) of the soundfont's drum kits: its bank-128 presets, or the one preset of
    a drum-only soundfont (which maps the GM percussion notes on a melodic bank)."""
    found = presets(soundfont)
    kits = sorted(p for p in found if p[0] == 128 and p[1] != SFX_PROGRAM)
    return kits or (found if len(found) == 1 else [])


def kit_midi(path: Path, bank: int, program: int, notes: tuple[int, ...]) -> None:
    """A MIDI file that selects drum kit (`bank`, `program`) and plays each note in its slot: on
    channel 10 for a GM kit (bank 128), on channel 1 for a drum-only soundfont's melodic preset."""
    import mido

    tpb = 480  # at 120 BPM a beat is 0.5 s
    slot = int(SLOT_SECONDS * 2 * tpb)
    ch = 9 if bank == 128 else 0
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    if bank != 128:
        track.append(mido.Message("control_change", channel=ch, control=0, value=bank, time=0))
    track.append(mido.Message("program_change", channel=ch, program=program, time=0))
    first = tpb  # a beat of silence first: the program change has taken effect
    for k, note in enumerate(notes):
        track.append(mido.Message("note_on", channel=ch, note=note, velocity=100, time=first if k == 0 else slot - tpb))
        track.append(mido.Message("note_off", channel=ch, note=note, velocity=0, time=tpb))
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


def package_of(soundfont: Path) -> str:
    """The Debian package of a default soundfont, or '' for any other file."""
    return next((pkg for path, pkg in SOUNDFONTS if path == soundfont), "")


def check_soundfonts(fonts) -> None:
    """One RuntimeError line for the first of `fonts` that is missing, naming its package."""
    for f in fonts:
        if not f.exists():
            pkg = package_of(f)
            raise RuntimeError(f"soundfont {f} is missing" + (f" (scripts/setup.sh installs {pkg})" if pkg else ""))


def build(out: Path, soundfonts: tuple[Path, ...] | list[Path] | None = None, sample_rate: int = SAMPLE_RATE,
          max_seconds: float = 0.8) -> dict:
    """Render every kit of `soundfonts` (default: SOUNDFONTS) into the bank file `out`; kits are
    numbered in order over all the soundfonts. A missing soundfont or one without a drum kit is one
    error naming it, before anything is rendered."""
    fonts = [Path(f) for f in soundfonts] if soundfonts is not None else [p for p, _ in SOUNDFONTS]
    if not fonts:
        raise ValueError("no soundfont to render drum kits from")
    check_soundfonts(fonts)
    kits = []
    for f in fonts:
        found = drum_kits(f)
        if not found:
            raise ValueError(f"{f} has no drum kit (no preset in bank 128)")
        kits += [(f, bank, program, name) for bank, program, name in found]
    arrays: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for i, (font, bank, program, name) in enumerate(kits):
            kit_midi(tmp / "kit.mid", bank, program, BANK_NOTES)
            render(tmp / "kit.mid", tmp / "kit.wav", font, sample_rate)
            audio, sr = read_wav(tmp / "kit.wav")
            shots = cut_shots(audio.mean(axis=1), sr, len(BANK_NOTES), max_seconds)
            kept = 0
            for note, x in zip(BANK_NOTES, shots):
                if x.size and (bank == 128 or note in DRUM_ONLY_NOTES):
                    arrays[f"{i}/{note}"] = np.clip(np.rint(x / np.abs(x).max() * 0.9 * 32767),
                                                    -32768, 32767).astype(np.int16)
                    kept += 1
            print(f"[{i + 1}/{len(kits)}] {font.stem} kit {program} {name!r}: {kept}/{len(BANK_NOTES)} notes",
                  file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part.npz")  # written whole, then renamed: a crash leaves no half bank
    source = "; ".join(f"{f} ({package_of(f)})" if package_of(f) else str(f) for f in fonts)
    np.savez_compressed(part, sample_rate=np.int64(sample_rate),
                        kit_names=np.array([f"{font.stem}: {name}" for font, _, _, name in kits]),
                        kit_font=np.array([fonts.index(font) for font, _, _, _ in kits], np.int64),
                        source=np.array(source), **arrays)
    part.replace(out)
    return {"kits": len(kits), "shots": len(arrays)}
