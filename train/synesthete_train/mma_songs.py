"""Songs arranged by MMA's groove library, for the MIDI pool (`synesthete-midi-pool --mma-songs N`).

MMA (Musical MIDI Accompaniment, Debian package `mma`, GPL-2+) ships ~120 files of grooves that
people wrote: drum parts, bass lines and chord comping for rock, pop, R&B, latin, jazz, country,
waltzes, marches. Given a chord sheet it writes a MIDI file, so a song here is a drawn chord
sheet (a key, a tempo, four 8-bar sections each on one groove of a drawn groove file, diatonic
progressions) that MMA arranges; the pool reads its truth from the MIDI as from any piece. The
engine's own drums have four styles; these are hundreds, with the fills, swing feels, latin
figures and comping a person gave them.

The dev set's five MMA songs are arranged with some of these grooves (scripts/make_dev_set.py), so
those groove files (DEV_GROOVE_FILES) are never drawn, nor are the metronome files; neither are
the files whose bar MMA counts in other than 3 or 4 beats (`Time` 2, 5, 6: a 6/8 in six, 5/4, 6/8
marches in two; the engine and the tracker count 3 and 4) nor a file's intro and ending grooves.
The 12/8 files and ballad68 count 4 (MMA writes them as 4/4 in triplets) and are drawn: the
truth's beats are the four pulses of the bar. The dev set's figures on its eight other excerpts
stay fully independent (docs/training.md reports both).

    songs = groove_files()                                   # [(file stem, beats per bar, grooves)]
    text = song_text(np.random.default_rng(0), songs)        # an MMA chord sheet
    write_midi(text, Path("song.mid"))                       # runs `mma`
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

MMA_LIBRARY = Path("/usr/share/mma/lib/stdlib")
MMA_PACKAGE = "mma"
MMA_LICENCE = "GPL-2+ (MMA groove library, Bob van der Poel; the chord sheet drawn here)"
# The groove files the dev set's MMA songs are arranged with (bill-bailey: Dixie; deep-river:
# FolkArticulated, Swing2, Swing2Plus; when-or-where: QuickStep*; barb: Softrock; bossa: BossaNova*)
# and the metronome count-ins: never drawn.
DEV_GROOVE_FILES = frozenset({"dixie", "folk", "swing", "quickstep", "softrock", "bossanova",
                              "metronome", "metronome3", "metronome6", "metronome68", "none"})
# The chord names as the sheets spell them. Not music_state.NOTE_NAMES (sharps) on purpose: the sheet's
# text seeds MMA's humanising (song_text), so another spelling would draw another pool than the one
# docs/training.md's figures were measured on.
NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
# Scale degrees as (semitones above the key, MMA chord suffix); the last is the dominant seventh.
MAJOR = ((0, ""), (2, "m"), (4, "m"), (5, ""), (7, ""), (9, "m"), (7, "7"))
MINOR = ((0, "m"), (3, ""), (5, "m"), (7, "m"), (7, "7"), (8, ""), (10, ""))
# Four-bar progressions as indices into MAJOR / MINOR (I-vi-IV-V, I-IV-V-I, ...).
PROGRESSIONS = ((0, 5, 3, 4), (0, 3, 4, 0), (0, 4, 5, 3), (5, 3, 0, 4), (0, 1, 4, 0), (0, 3, 1, 4),
                (0, 0, 3, 4), (0, 5, 1, 4))
SECTIONS, BARS_PER_SECTION = 4, 8


def mma_command() -> str:
    """The `mma` executable; RuntimeError (one line) when it is not installed."""
    exe = shutil.which("mma")
    if exe is None or not MMA_LIBRARY.is_dir():
        raise RuntimeError(f"MMA is not installed (no `mma` or no {MMA_LIBRARY}): scripts/setup.sh installs "
                           f"the Debian package {MMA_PACKAGE}")
    return exe


def groove_files(library: Path = MMA_LIBRARY) -> list[tuple[str, int, list[str]]]:
    """(file stem, beats per bar, groove names) of every drawable groove file, sorted by stem."""
    out = []
    for f in sorted(library.glob("*.mma")):
        if f.stem in DEV_GROOVE_FILES:
            continue
        text = f.read_text(errors="replace")
        time = re.search(r"^\s*Time\s+(\d+)", text, re.M | re.I)
        if time is None or int(time.group(1)) not in (3, 4):
            continue
        names = [g for g in re.findall(r"^\s*DefGroove\s+(\S+)", text, re.M | re.I)
                 if not re.search(r"intro|end", g, re.I)]
        if names:
            out.append((f.stem, int(time.group(1)), names))
    return out


def song_text(rng: np.random.Generator, files: list[tuple[str, int, list[str]]]) -> tuple[str, str]:
    """A drawn MMA chord sheet and the groove file it uses (the same rng state, the same sheet): one
    file, four 8-bar sections each on one of its grooves, a key (minor 35 %), a tempo (72-167 BPM in
    4, 84-189 in 3), a progression per section with a dominant seventh now and then on its fourth
    bar, and in 4/4 a second chord on beat three of a bar in five."""
    stem, beats, grooves = files[int(rng.integers(len(files)))]
    key = int(rng.integers(12))
    degrees = MINOR if rng.random() < 0.35 else MAJOR
    tempo = int(rng.integers(72, 168)) if beats == 4 else int(rng.integers(84, 190))
    lines = [f"Tempo {tempo}", f"TimeSig {beats} 4"]
    bar = 1
    for _ in range(SECTIONS):
        lines.append(f"Groove {grooves[int(rng.integers(len(grooves)))]}")
        prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
        for b in range(BARS_PER_SECTION):
            seventh = b % 4 == 3 and rng.random() < 0.3
            semis, suffix = degrees[6] if seventh else degrees[prog[b % 4]]
            chord = NOTE_NAMES[(key + semis) % 12] + suffix
            if beats == 4 and rng.random() < 0.2:
                semis2, suffix2 = degrees[prog[(b + 1) % 4]]
                lines.append(f"{bar} {chord} / {NOTE_NAMES[(key + semis2) % 12] + suffix2} /")
            else:
                lines.append(f"{bar} {chord}")
            bar += 1
    body = "\n".join(lines) + "\n"
    # MMA humanises timing, velocity and skipped notes with Python's random, seeded from the clock
    # unless told: seeded from the sheet, the same sheet is the same MIDI file.
    seed = int.from_bytes(hashlib.sha256(body.encode()).digest()[:4], "little")
    return f"// drawn for the synesthete MIDI pool from the groove file {stem}.mma\nRndSeed {seed}\n" + body, stem


def write_midi(text: str, dst: Path) -> None:
    """Run MMA on a chord sheet, writing the MIDI file dst; RuntimeError (one line) on failure."""
    exe = mma_command()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "song.mma"
        src.write_text(text)
        res = subprocess.run([exe, "-f", str(dst), str(src)], capture_output=True, text=True)
    if res.returncode != 0 or not dst.exists():
        last = (res.stderr.strip() or res.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"mma failed on a drawn song: {last[0]}")
