"""Build the hearing dev set: excerpts of human-written MIDI music from Debian packages, rendered
with a General MIDI soundfont, with ground truth read from the MIDI itself.

Why MIDI: the file *is* the score, so the truth is exact and defensible. Beats and downbeats come
from the file's tempo map and time signatures (pretty_midi's `get_beats` / `get_downbeats`: a beat
is the time signature's beat, a dotted quarter in 6/8), drum onsets from channel 10's notes
(General MIDI percussion map, grouped into the engine's stems: kick 35/36, snare 37-40 (side stick,
snare, clap), closed hat 42/44, open hat 46, everything else perc; the raw notes are kept too),
bass onsets from the GM bass programs 32-39. Chords are not written: a MIDI file names no chords,
and any label read off its notes would be another estimate, not truth. An excerpt whose notes do
not sit on the tempo map's grid (a part played in without a click: fewer than 80% of its notes
within 20 ms of a 16th or triplet position) is left out, since its written beats are not the
music's; the build log says which.

The sources are MIDI files that Debian ships in main under free licences (see SOURCES; the
packages openttd-openmsx, simutrans-data, asc-music, drascula-music, fb-music-high and pygame's
examples are deliberately left out: they are kept for an independent check). Each excerpt starts
on a downbeat after the piece has begun, lasts --duration seconds, and is rendered by fluidsynth
with FluidR3_GM (fluid-soundfont-gm), default reverb and chorus, 44.1 kHz stereo.

    uv run --locked python scripts/make_dev_set.py [--out results/dev_set] [--duration 30]

writes OUT/NAME.wav and OUT/NAME.json per excerpt and OUT/index.json (sources, licences, package
versions, MIDI checksums). Missing packages are installed with apt-get when run as root; otherwise
the script names them and stops. The audio stays out of git (results/ is ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import pretty_midi

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SAMPLE_RATE = 44_100
RENDER_PACKAGES = ("fluidsynth", "fluid-soundfont-gm")
# GM percussion (channel 10) note -> the engine's stem (constants.STEMS); unlisted notes are "perc".
GM_DRUM_STEM = {35: "kick", 36: "kick", 37: "snare", 38: "snare", 39: "snare", 40: "snare",
                42: "hat_closed", 44: "hat_closed", 46: "hat_open"}
BASS_PROGRAMS = range(32, 40)  # GM "Bass" family: acoustic, electric (finger, pick), fretless, slap, synth
STEM_KEYS = ("kick", "snare", "hat_closed", "hat_open", "perc", "bass")
GRID_TOLERANCE_S = 0.02  # a note this close to a 16th / triplet position of the tempo map is on the grid
MIN_GRID_FIT = 0.8  # an excerpt with fewer of its notes on the grid has no trustworthy beats


@dataclass(frozen=True)
class Source:
    name: str
    package: str
    path: str
    licence: str
    min_start: float = 8.0  # seconds: the excerpt starts at the first downbeat after this (and the first note)


# Every MIDI file here ships in Debian main; licences as in /usr/share/doc/PACKAGE/copyright (freedink:
# README-REPLACEMENTS.txt, which names each replaced file's composer and licence).
SOURCES = (
    *(Source(f"planetblupi-{i:03d}", "planetblupi-music-midi", f"/usr/share/planetblupi/music/music{i:03d}.mid",
             "GPL-3+ (Planet Blupi music; debian/copyright: Mathieu Schroeter)") for i in range(10)),
    Source("crimson-default", "crimson", "/usr/share/games/crimson/music/default.mid",
           "GPL-2+ (\"Default Symphony\", Dave Fancella, distributed with Crimson Fields)"),
    Source("pinball-hurd-intro", "pinball-table-hurd-data", "/usr/share/games/pinball/hurd/intro.mid",
           "GPL-2+ (Henrik Enqvist)"),
    Source("liquidwar-colossus", "liquidwar-data", "/usr/share/games/liquidwar/music/colossus.mid",
           "GPL-2+ (Liquid War music, Christian Mauduit)", min_start=2.0),
    Source("pangzero-upipang", "pangzero", "/usr/share/perl5/auto/share/dist/Games-PangZero/UPiPang.mid",
           "GPL-2+ (Pang Zero music, SAdam)"),
    *(Source(f"mma-{name.split('/')[1]}", "mma", f"/usr/share/doc/mma/examples/{name}.mid",
             "GPL-2+ (MMA example songs: traditional tunes arranged with MMA's groove library, Bob van der Poel)")
      for name in ("simple/bill-bailey", "tutorial/deep-river", "aria/when-or-where", "aria/barb", "aria/bossa")),
    Source("freedink-2", "freedink-data", "/usr/share/games/dink/dink/Sound/2.mid",
           "zlib-style (Dink Smallwood, Seth A. Robinson)"),
    Source("freedink-18", "freedink-data", "/usr/share/games/dink/dink/Sound/18.mid",
           "GPL-3+ (\"End Boss\", Joshua O'Leary, 2011, for FreeDink; README-REPLACEMENTS.txt)"),
)


def drum_stem(pitch: int) -> str:
    return GM_DRUM_STEM.get(int(pitch), "perc")


def _window(times: np.ndarray, start: float, duration: float) -> list[float]:
    t = np.asarray(times, np.float64)
    t = t[(t >= start - 1e-9) & (t < start + duration - 1e-9)] - start
    return [round(float(x), 6) for x in np.unique(np.round(t, 6))]


def ground_truth(pm: pretty_midi.PrettyMIDI, start: float, duration: float) -> dict[str, object]:
    """Beats, downbeats, tempo, time signatures and per-stem onsets of [start, start + duration), in
    seconds from `start`."""
    beats = pm.get_beats()
    downbeats = pm.get_downbeats()
    drum_notes: dict[int, list[float]] = {}
    stems: dict[str, list[float]] = {k: [] for k in STEM_KEYS}
    for inst in pm.instruments:
        for note in inst.notes:
            if inst.is_drum:
                drum_notes.setdefault(note.pitch, []).append(note.start)
                stems[drum_stem(note.pitch)].append(note.start)
            elif inst.program in BASS_PROGRAMS:
                stems["bass"].append(note.start)
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


def choose_start(pm: pretty_midi.PrettyMIDI, min_start: float, duration: float) -> float:
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


def render(midi: Path, wav: Path, soundfont: Path = SOUNDFONT, sample_rate: int = SAMPLE_RATE) -> None:
    if not shutil.which("fluidsynth"):
        raise RuntimeError("fluidsynth is not installed (scripts/setup.sh installs it)")
    if not soundfont.exists():
        raise RuntimeError(f"soundfont {soundfont} is missing (apt-get install fluid-soundfont-gm)")
    cmd = ["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(sample_rate), "-T", "wav", "-O", "s16",
           "-F", str(wav), str(soundfont), str(midi)]
    res = subprocess.run(cmd, capture_output=True, text=True)
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


def render_excerpt(midi: Path, wav: Path, start: float, duration: float, tmp: Path) -> None:
    """Render the file from its beginning (so held notes, programs and reverb tails are right) up to
    the excerpt's end, then cut [start, start + duration) sample-exactly and normalise the peak."""
    cut = tmp / (midi.stem + ".cut.mid")
    full = tmp / (midi.stem + ".full.wav")
    truncated_midi(midi, cut, start + duration + 0.5)
    render(cut, full)
    audio, sr = read_wav(full)
    a, b = int(round(start * sr)), int(round((start + duration) * sr))
    part = audio[a:b]
    if part.shape[0] < b - a:
        part = np.concatenate([part, np.zeros((b - a - part.shape[0], part.shape[1]), np.float32)])
    peak = float(np.abs(part).max())
    if peak == 0.0:
        raise RuntimeError(f"{midi}: the excerpt at {start:.2f} s rendered silent")
    write_wav(wav, part * (0.9 / peak), sr)


def package_version(package: str) -> str:
    res = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return res.stdout.strip() if res.returncode == 0 else ""


def ensure_packages(packages: list[str]) -> None:
    missing = sorted({p for p in packages if not package_version(p)})
    if not missing:
        return
    import os

    if os.geteuid() != 0:
        raise RuntimeError(f"missing Debian packages: {' '.join(missing)} (sudo apt-get install {' '.join(missing)})")
    print(f"make_dev_set: installing {' '.join(missing)}", file=sys.stderr)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def build(out: Path, duration: float, sources: tuple[Source, ...] = SOURCES) -> list[dict[str, object]]:
    ensure_packages([*RENDER_PACKAGES, *(s.package for s in sources)])
    out.mkdir(parents=True, exist_ok=True)
    index = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for src in sources:
            midi = Path(src.path)
            pm = pretty_midi.PrettyMIDI(str(midi))
            start = choose_start(pm, src.min_start, duration)
            truth = ground_truth(pm, start, duration)
            if truth["grid_fit"] < MIN_GRID_FIT:  # type: ignore[operator]
                print(f"{src.name}: left out, only {truth['grid_fit']:.0%} of its notes lie on the MIDI's beat grid "
                      "(played in without a tempo map: its beats are not the music's)", file=sys.stderr)
                continue
            render_excerpt(midi, out / f"{src.name}.wav", start, duration, Path(tmpdir))
            meta = {"name": src.name, "audio": f"{src.name}.wav", "start_s": round(start, 6), "duration_s": duration,
                    "source": {"package": src.package, "version": package_version(src.package), "path": src.path,
                               "licence": src.licence, "sha256": hashlib.sha256(midi.read_bytes()).hexdigest()},
                    "render": {"synth": "fluidsynth " + package_version("fluidsynth"),
                               "soundfont": f"{SOUNDFONT} (fluid-soundfont-gm {package_version('fluid-soundfont-gm')})",
                               "sample_rate": SAMPLE_RATE},
                    **truth}
            (out / f"{src.name}.json").write_text(json.dumps(meta, indent=1))
            index.append({k: meta[k] for k in ("name", "audio", "start_s", "duration_s", "source", "tempo_bpm")})
            n_drums = sum(len(v) for v in truth["drum_notes"].values())  # type: ignore[union-attr]
            print(f"{src.name}: {start:.2f}+{duration:.0f} s, {truth['tempo_bpm']} BPM, "
                  f"{len(truth['beats'])} beats, {n_drums} drum hits", file=sys.stderr)  # type: ignore[arg-type]
    (out / "index.json").write_text(json.dumps({"excerpts": index}, indent=1))
    return index


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("results/dev_set"))
    p.add_argument("--duration", type=float, default=30.0, help="seconds per excerpt")
    args = p.parse_args(argv)
    try:
        build(args.out, args.duration)
    except (RuntimeError, ValueError, OSError, subprocess.CalledProcessError) as e:
        print(f"make_dev_set: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
