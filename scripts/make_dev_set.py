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
examples are deliberately left out: they are kept for an independent check; `--held-out` builds
that check from two of them, HELD_OUT below, never used for a choice). Each excerpt starts
on a downbeat after the piece has begun, lasts --duration seconds, and is rendered by fluidsynth
with FluidR3_GM (fluid-soundfont-gm), default reverb and chorus, 44.1 kHz stereo.

    uv run --locked python scripts/make_dev_set.py [--out results/dev_set] [--duration 30]
    uv run --locked python scripts/make_dev_set.py --held-out [--out results/held_out_set]

writes OUT/NAME.wav and OUT/NAME.json per excerpt and OUT/index.json (sources, licences, package
versions, MIDI checksums). Missing packages are installed with apt-get when run as root; otherwise
the script names them and stops. The audio stays out of git (results/ is ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from synesthete.data.midi_truth import (MIN_GRID_FIT, choose_start, ground_truth, read_wav, render, truncated_midi,
                                      write_wav)

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SAMPLE_RATE = 44_100
RENDER_PACKAGES = ("fluidsynth", "fluid-soundfont-gm")


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

# The independent check (docs/evaluation.md#the-held-out-recorded-set): every fourth MIDI file, by
# name, of two of the packages the dev set leaves out (among those mido reads: one simutrans file
# has a key signature it refuses). Three are left out by the beat-grid rule at build time.
_OPENMSX, _SIMUTRANS = "/usr/share/games/openttd/baseset/openmsx", "/usr/share/games/simutrans/music"
HELD_OUT = (
    *(Source(f"openttd-{stem}", "openttd-openmsx", f"{_OPENMSX}/{stem}.mid",
             "GPL-2 (OpenMSX, the OpenTTD base music set; debian/copyright)")
      for stem in ("5432gone_redfarn", "careless_perc_redfarn", "coconut_run2", "linns_basket", "moo_redfarn",
                   "run_for_your_life", "the_hobo_redfarn", "tttheme2")),
    *(Source(f"simutrans-{stem}"[:40], "simutrans-data", f"{_SIMUTRANS}/{stem}.mid",
             "Artistic-1.0 (Simutrans music; debian/copyright)")
      for stem in ("01-Simutrans-Main-Theme", "06-A-busy-day-at-the-depot", "10-Easy-driving",
                   "14-Last-journey-of-the-Niagara", "18-Ride-that-train", "22-Variable-Journeys",
                   "26-Tantalizingly-Unusual", "31-Courtenay-Bridge", "35-deep-ride", "39-bangin-mover",
                   "43-Driving-on-the-midnight-highway", "47-Salty-Breeze", "51-Summer-Intersection")),
)


def render_excerpt(midi: Path, wav: Path, start: float, duration: float, tmp: Path) -> None:
    """Render the file from its beginning (so held notes, programs and reverb tails are right) up to
    the excerpt's end, then cut [start, start + duration) sample-exactly and normalise the peak."""
    cut = tmp / (midi.stem + ".cut.mid")
    full = tmp / (midi.stem + ".full.wav")
    truncated_midi(midi, cut, start + duration + 0.5)
    render(cut, full, SOUNDFONT, SAMPLE_RATE)
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
    p.add_argument("--out", type=Path, help="default: results/dev_set (results/held_out_set with --held-out)")
    p.add_argument("--duration", type=float, default=30.0, help="seconds per excerpt")
    p.add_argument("--held-out", action="store_true",
                   help="build the independent check from packages the dev set leaves out (HELD_OUT): "
                        "read it with synesthete-eval --dev-set, never choose anything on it")
    args = p.parse_args(argv)
    out = args.out or Path("results/held_out_set" if args.held_out else "results/dev_set")
    try:
        build(out, args.duration, HELD_OUT if args.held_out else SOURCES)
    except (RuntimeError, ValueError, OSError, subprocess.CalledProcessError) as e:
        print(f"make_dev_set: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
