"""The pool of human-written MIDI pieces the hearing trainer crops clips from (`data.midi_share`;
synesthete.data.midi_pool reads it): `build` renders it, `synesthete-midi-pool`
(synesthete_train.midi_pool_cli) and the trainer (a missing MMA pool) call it.

Sources, never the dev set's nor the reserved ones (docs/training.md "Human-written music"):
* MIDI files that Debian packages in main ship (SOURCES), fetched with `apt-get download` into
  OUT/debs and unpacked there (nothing is installed);
* scores of music21's corpus (M21_WORKS), written out as MIDI by music21 at a tempo drawn per piece
  (70-150 quarter notes per minute) with General MIDI programs drawn per part; every other piece's
  lowest part plays a GM bass program, so the pool has bass truth. A score whose first bar is a
  pickup is left out (the MIDI's time signature would put the downbeats a pickup early);
* with --mma-songs N, N songs that MMA arranges from drawn chord sheets with its library of
  grooves written by people, less the groove files the dev set's MMA songs use
  (synesthete_train.mma_songs; needs the `mma` package, which scripts/setup.sh installs). The
  onset calibration draws its own songs (`MMA_CALIBRATION_DRAW`, named `mma-calibration-...`):
  other sheets than the pool's, never trained on (synesthete_train.hearing, eval.calibrate_midi_songs).

Each piece's first --max-seconds are rendered by fluidsynth with TimGM6mb (timgm6mb-soundfont), not
the dev set's FluidR3 (with --sounds varied: one of three GM soundfonts drawn per piece, half of
them with an AVL acoustic drum kit; piece_sound), at the model's sample rate, mono,
peak-normalised; the truth is read from the file by synesthete.data.midi_truth as the dev set's
is. A piece whose notes do not sit on its tempo map's grid (grid_fit < MIN_GRID_FIT) is left out,
as from the dev set.

    uv run --locked synesthete-midi-pool [--out runs/midi_pool] [--mma-songs 240]
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synesthete.constants import SAMPLE_RATE
from synesthete.data.midi_pool import POOL_INDEX
from synesthete.data.midi_truth import (MIN_GRID_FIT, grid_fit, has_bass_program, read_wav, render, stem_notes,
                                        truncated_midi)
from synesthete_train.drum_bank import AVL_KITS, CSOUND_GM, OPL3, TIMGM6MB, check_soundfonts, package_of

SOUNDFONT = TIMGM6MB
# sounds="varied": each piece draws one of these General MIDI soundfonts, and half the pieces play
# their standard drum kit on one of AVL's multi-sampled acoustic kits (none of them FluidR3, the dev
# and recorded sets' soundfont, or made from it; their packages: synesthete_train.drum_bank.SOUNDFONTS).
VARIED_SOUNDFONTS = (TIMGM6MB, CSOUND_GM, OPL3)
VARIED_DRUM_KITS = AVL_KITS
AVL_DRUM_SHARE = 0.5
SOUNDS = ("timgm6mb", "varied")
# Never trained on: the dev set's packages (scripts/make_dev_set.py) and those kept for an independent check.
# (MMA's own example songs included; its groove library, less the dev set's grooves, arranges the
# --mma-songs pieces: synesthete_train.mma_songs.)
EXCLUDED_PACKAGES = frozenset({
    "planetblupi-music-midi", "crimson", "pinball-table-hurd-data", "liquidwar-data", "pangzero", "mma",
    "freedink-data", "openttd-openmsx", "simutrans-data", "asc-music", "drascula-music", "fb-music-high",
    "python3-pygame", "python-pygame"})
MIN_SECONDS = 12.0  # a piece must hold a few 8 s clips after its first note


@dataclass(frozen=True)
class DebSource:
    name: str
    package: str
    path: str  # inside the package
    licence: str


_PB = "/usr/share/doc/pianobooster/courses"
_FAUST = "/usr/share/faust/examples/physicalModeling/faust-stk/pd-patches/fancy"
SOURCES = (
    DebSource("kobo-trance1", "kobodeluxe-data", "/usr/share/kobo-deluxe/sfx/trance1.mid",
              "GPL-2+ (Kobo Deluxe, David Olofson)"),
    *(DebSource(f"pianobooster-{Path(p).stem.lower()}", "pianobooster", f"{_PB}/{p}",
                "GPL-3+ (PianoBooster courses, L. J. Barman)")
      for p in ("BeginnerCourse/02-ChordOfCMajor.mid", "BeginnerCourse/03-UpAndDown.mid",
                "BeginnerCourse/04-ClairDeLaLune.mid", "BeginnerCourse/05-ChordOfFMajor.mid",
                "BeginnerCourse/06-DownAndUp.mid", "BoosterMusic/02-LavendersBlue.mid",
                "BoosterMusic/04-FrereJacques.mid")),
    DebSource("faust-pachelbel", "faust-common", f"{_FAUST}/canon/pachelbel.mid", "GPL-2+ (Faust examples, GRAME)"),
)
# Left out on purpose: Debian MIDI files whose written bars may not be the music's (sfront's bach.mid
# has no time signature; faust's turkish-march.mid writes the 2/4 rondo in 4/4 at double tempo),
# PianoBooster's duplicate 01-ClairDeLaLune and the files off their grid (pyo's mapleleafrag,
# chuck's bwv772, yoshimi's Out_There: grid_fit < 0.8), and covers of songs under copyright.
# music21 corpus works (paths as corpus.parse takes them): string quartets, piano and chamber music.
M21_WORKS = (
    *(f"beethoven/opus18no1/movement{i}" for i in (1, 2, 3, 4)),
    *(f"beethoven/opus59no1/movement{i}" for i in (1, 2, 3, 4)),
    *(f"beethoven/opus59no2/movement{i}" for i in (1, 2, 3, 4)),
    *(f"beethoven/opus59no3/movement{i}" for i in (1, 2, 3, 4)),
    "beethoven/opus132",
    *(f"mozart/k80/movement{i}" for i in (1, 2, 3, 4)),
    *(f"mozart/k155/movement{i}" for i in (1, 2, 3)),
    *(f"mozart/k156/movement{i}" for i in (1, 2, 3, 4)),
    *(f"mozart/k458/movement{i}" for i in (1, 2, 3, 4)),
    *(f"haydn/opus1no1/movement{i}" for i in (1, 2, 3, 4, 5)),
    *(f"haydn/opus74no1/movement{i}" for i in (1, 2, 3, 4)),
    "joplin/maple_leaf_rag", "handel/rinaldo/lascia_chio_pianga", "corelli/opus3no1/1grave",
    "schumann_robert/opus41no1/movement2", "schubert/lindenbaum", "cpebach/h186", "beach/prayer",
    "weber/freischutz/act2/overture", "chopin/mazurka06-2",
)
M21_LICENCE = "music21 corpus (music21 {version}, BSD-3-Clause; scores in the public domain or redistributable, music21 docs)"
GM_PROGRAMS = (0, 1, 4, 6, 11, 19, 21, 24, 25, 40, 41, 42, 48, 52, 56, 60, 68, 71, 73)  # pianos, organ, guitars, strings, winds


def _seed(name: str) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little"))


def fetch_debs(packages: set[str], folder: Path) -> Path:
    """`apt-get download` each package into folder and unpack it under folder/root (nothing installed)."""
    bad = packages & EXCLUDED_PACKAGES
    if bad:
        raise ValueError(f"the dev set's or reserved packages may not be trained on: {', '.join(sorted(bad))}")
    root = folder / "root"
    folder.mkdir(parents=True, exist_ok=True)
    for pkg in sorted(packages):
        debs = list(folder.glob(f"{pkg}_*.deb"))
        if not debs:
            res = subprocess.run(["apt-get", "download", "-q", pkg], cwd=folder, capture_output=True, text=True)
            debs = list(folder.glob(f"{pkg}_*.deb"))
            if res.returncode != 0 or not debs:
                raise RuntimeError(f"apt-get download {pkg} failed: {res.stderr.strip().splitlines()[-1:] or res.stdout}")
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)], check=True)
    return root


def m21_midi(work: str, dst: Path, with_bass: bool, max_seconds: float) -> str | None:
    """Write a music21 corpus work as MIDI; None when it is left out (a pickup bar, no notes)."""
    from music21 import corpus, instrument, meter, tempo

    score = corpus.parse(work)
    if isinstance(score, (list, tuple)) or not hasattr(score, "parts") or not score.parts:
        return None
    first = score.parts[0].getElementsByClass("Measure").first()
    ts = score.recurse().getElementsByClass(meter.TimeSignature).first()
    if first is None or ts is None or first.duration.quarterLength + 1e-6 < ts.barDuration.quarterLength:
        return None  # a pickup: pretty_midi would count the bars from the pickup
    rng = _seed(work)
    for mark in list(score.recurse().getElementsByClass(tempo.MetronomeMark)):
        mark.activeSite.remove(mark)
    qpm = float(rng.integers(70, 151))
    first.insert(0, tempo.MetronomeMark(number=qpm))
    # only the bars that will be rendered: a whole quartet movement overflows pretty_midi's tick limit
    bars = int(np.ceil(max_seconds * qpm / 60.0 / ts.barDuration.quarterLength)) + 2
    score = score.measures(1, bars)
    parts = list(score.parts)
    for k, part in enumerate(parts):
        for old in list(part.recurse().getElementsByClass(instrument.Instrument)):
            old.activeSite.remove(old)
        inst = instrument.Instrument()
        program = 32 + int(rng.integers(0, 3)) if with_bass and k == len(parts) - 1 and len(parts) > 1 \
            else int(rng.choice(GM_PROGRAMS))
        inst.midiProgram = program
        part.insert(0, inst)
    score.write("midi", fp=str(dst))
    return f"{qpm:.0f} qpm"


def sound_fonts(sounds: str) -> tuple[Path, ...]:
    """Every soundfont a pool of `sounds` may render with."""
    return (SOUNDFONT,) if sounds == "timgm6mb" else VARIED_SOUNDFONTS + VARIED_DRUM_KITS


def piece_sound(name: str, sounds: str) -> tuple[Path, Path | None]:
    """(soundfont, drum kit soundfont or None) a piece is rendered with: SOUNDFONT for "timgm6mb";
    for "varied" drawn from the piece's name, so every build renders a piece alike."""
    if sounds == "timgm6mb":
        return SOUNDFONT, None
    rng = _seed(f"{name}/sound")
    font = VARIED_SOUNDFONTS[int(rng.integers(len(VARIED_SOUNDFONTS)))]
    drums = VARIED_DRUM_KITS[int(rng.integers(len(VARIED_DRUM_KITS)))] if rng.random() < AVL_DRUM_SHARE else None
    return font, drums


def render_piece(midi: Path, max_seconds: float, sample_rate: int, tmp: Path,
                 sound: tuple[Path, Path | None] = (SOUNDFONT, None)) -> np.ndarray:
    """The piece's first max_seconds rendered with `sound` (piece_sound), mono, peak 0.9 (float32)."""
    cut, wav = tmp / "cut.mid", tmp / "full.wav"
    truncated_midi(midi, cut, max_seconds)
    render(cut, wav, sound[0], sample_rate, drum_kit=sound[1])
    audio, sr = read_wav(wav)
    mono = audio.mean(axis=1)[: int(max_seconds * sr)]
    peak = float(np.abs(mono).max())
    if peak == 0.0:
        raise RuntimeError(f"{midi}: rendered silent")
    return mono * (0.9 / peak)


def piece_truth(pm, duration: float) -> dict:
    """The pool's truth file of a PrettyMIDI over [0, duration): beats, downbeats, each known stem's
    (onset, velocity) pairs, the bass notes (start, duration, pitch, velocity), has_bass."""
    keep = lambda t: t < duration  # noqa: E731
    stems = stem_notes(pm)
    notes = sorted(n.start for inst in pm.instruments for n in inst.notes)
    sigs = sorted(pm.time_signature_changes, key=lambda s: s.time)
    return {
        "duration_s": duration,
        "first_note_s": float(notes[0]) if notes else 0.0,
        "beats": [round(float(b), 6) for b in pm.get_beats() if keep(b)],
        "downbeats": [round(float(b), 6) for b in pm.get_downbeats() if keep(b)],
        "beats_per_bar": int(sigs[0].numerator) if sigs else 4,
        "onsets": {s: sorted([round(n.start, 6), round(n.velocity / 127.0, 4)] for n in ns if keep(n.start))
                   for s, ns in stems.items()},
        "bass_notes": sorted([round(n.start, 6), round(n.end - n.start, 6), int(n.pitch), round(n.velocity / 127.0, 4)]
                             for n in stems["bass"] if keep(n.start)),
        "has_bass": has_bass_program(pm),
    }


MMA_DRAW = "mma-songs"  # the training pool's draw
MMA_CALIBRATION_DRAW = "mma-calibration"  # the onset calibration's songs: another draw, never trained on


def mma_items(n: int, draw: str = MMA_DRAW) -> list[tuple[str, str, str]]:
    """(name, source, MMA chord sheet) of the first n MMA songs of the draw named `draw` (the same n
    songs every build; another name, other songs)."""
    from synesthete_train import mma_songs

    if n == 0:
        return []
    mma_songs.mma_command()  # not installed: one line before anything is rendered
    files = mma_songs.groove_files()
    rng = _seed(draw)
    items = []
    for i in range(n):
        text, stem = mma_songs.song_text(rng, files)
        name = f"{'mma' if draw == MMA_DRAW else draw}-{i:03d}-{stem}"  # a calibration song never shares a name
        items.append((name, f"MMA groove library: {stem}.mma, a drawn chord sheet", text))
    return items


def build(out: Path, max_seconds: float = 60.0, sample_rate: int = SAMPLE_RATE, m21_limit: int = 0,
          mma_songs: int = 0, mma_only: bool = False, mma_draw: str = MMA_DRAW, sounds: str = "timgm6mb") -> list[dict]:
    import music21
    import pretty_midi

    from synesthete_train.mma_songs import MMA_LICENCE, write_midi

    if sounds not in SOUNDS:
        raise ValueError(f"sounds must be one of {', '.join(SOUNDS)}, got {sounds!r}")
    check_soundfonts(sound_fonts(sounds))
    out.mkdir(parents=True, exist_ok=True)
    # name, midi, source, licence, m21 work, MMA chord sheet
    items: list[tuple[str, Path | None, str, str, str | None, str | None]] = []
    if not mma_only:
        root = fetch_debs({s.package for s in SOURCES}, out / "debs")
        items += [(s.name, root / s.path.lstrip("/"), f"Debian {s.package}: {s.path}", s.licence, None, None)
                  for s in SOURCES]
        works = M21_WORKS[:m21_limit] if m21_limit else M21_WORKS
        items += [("m21-" + w.replace("/", "-"), None, f"music21 corpus: {w}",
                   M21_LICENCE.format(version=music21.__version__), w, None) for w in works]
    items += [(name, None, source, MMA_LICENCE, None, text) for name, source, text in mma_items(mma_songs, mma_draw)]
    index = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for i, (name, midi, source, licence, work, sheet) in enumerate(items):
            note = ""
            try:
                if sheet is not None:
                    midi = tmp / f"{name}.mid"
                    write_midi(sheet, midi)
                    note = "MMA"
                elif work is not None:
                    midi = tmp / f"{name}.mid"
                    note = m21_midi(work, midi, i % 2 == 0, max_seconds) or ""
                    if not note:
                        print(f"[{i + 1}/{len(items)}] {name}: left out (a pickup bar or no parts)", file=sys.stderr)
                        continue
                pm = pretty_midi.PrettyMIDI(str(midi))
                duration = min(max_seconds, pm.get_end_time())
                starts = np.array([n.start for inst in pm.instruments for n in inst.notes if n.start < duration])
                fit = grid_fit(starts, pm.get_beats())
                if fit < MIN_GRID_FIT or duration < MIN_SECONDS:
                    print(f"[{i + 1}/{len(items)}] {name}: left out ({fit:.0%} of its notes on the grid, "
                          f"{duration:.0f} s)", file=sys.stderr)
                    continue
                sound = piece_sound(name, sounds)
                audio = render_piece(midi, duration, sample_rate, tmp, sound)
            except Exception as e:  # a corpus file music21 cannot write, a broken MIDI: that piece only
                print(f"[{i + 1}/{len(items)}] {name}: left out ({type(e).__name__}: {e})", file=sys.stderr)
                continue
            entry = write_piece(out, name, Path(midi), pm, audio, sample_rate,
                                {"source": source, "licence": licence, "grid_fit": round(fit, 4), "note": note,
                                 "soundfont": sound[0].name, "drum_kit": sound[1].name if sound[1] else ""})
            index.append(entry)
            print(f"[{i + 1}/{len(items)}] {name}: {entry['seconds']:.0f} s, {entry['beats']} beats, "
                  f"{entry['drum_hits']} drum hits, bass {'yes' if entry['has_bass'] else 'no'} {note} "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    write_index(out, index, sample_rate, sounds)
    return index


def write_piece(out: Path, name: str, midi: Path, pm, audio: np.ndarray, sample_rate: int, meta: dict) -> dict:
    """Write a rendered piece (audio float32 mono at sample_rate) and its truth into the pool
    folder; returns its index entry."""
    truth = piece_truth(pm, audio.shape[0] / sample_rate)
    np.save(out / f"{name}.npy", np.clip(np.rint(audio * 32767), -32768, 32767).astype(np.int16))
    truth.update(name=name, sha256=hashlib.sha256(midi.read_bytes()).hexdigest(), **meta)
    (out / f"{name}.json").write_text(json.dumps(truth))
    n_drums = sum(len(truth["onsets"][s]) for s in ("kick", "snare", "hat_closed", "hat_open", "perc"))
    return {"name": name, "audio": f"{name}.npy", "truth": f"{name}.json", "source": meta.get("source", ""),
            "licence": meta.get("licence", ""), "seconds": round(truth["duration_s"], 2), "beats": len(truth["beats"]),
            "drum_hits": n_drums, "has_bass": truth["has_bass"]}


def write_index(out: Path, pieces: list[dict], sample_rate: int, sounds: str = "timgm6mb") -> None:
    (out / POOL_INDEX).write_text(json.dumps({
        "sample_rate": sample_rate, "sounds": sounds,
        "soundfont": "; ".join(f"{f} ({package_of(f)})" for f in sound_fonts(sounds)), "pieces": pieces}, indent=1))
