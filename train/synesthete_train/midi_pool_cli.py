"""`synesthete-midi-pool`: build the pool of human-written MIDI pieces the hearing trainer crops
clips from (`data.midi_share`; synesthete.data.midi_pool reads it; the sources and the rendering:
synesthete_train.midi_pool).

    uv run --locked synesthete-midi-pool [--out runs/midi_pool] [--mma-songs 240] [--mma-only]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from synesthete.constants import SAMPLE_RATE
from synesthete_train.midi_pool import SOUNDS, build


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="synesthete-midi-pool", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("runs/midi_pool"))
    p.add_argument("--max-seconds", type=float, default=60.0, help="seconds rendered per piece (from its start)")
    p.add_argument("--sample-rate", type=int, default=SAMPLE_RATE, help="the model's sample rate")
    p.add_argument("--m21-limit", type=int, default=0, help="only the first N music21 works (0 = all)")
    p.add_argument("--mma-songs", type=int, default=0, metavar="N",
                   help="also N songs MMA arranges with its groove library (drum grooves, bass lines and "
                        "comping that people wrote; never the dev set's grooves; needs the mma package). 0 = none")
    p.add_argument("--mma-only", action="store_true", help="only the MMA songs (no Debian files, no music21 works)")
    p.add_argument("--sounds", choices=SOUNDS, default="timgm6mb",
                   help="timgm6mb: every piece on TimGM6mb; varied: each piece on one of three GM soundfonts "
                        "(TimGM6mb, csound's, an OPL3 FM chip's), half of them with an AVL acoustic drum kit "
                        "(default: %(default)s)")
    args = p.parse_args(argv)
    if args.mma_songs < 0 or (args.mma_only and args.mma_songs == 0):
        p.error("--mma-songs must be >= 0, and > 0 with --mma-only")
    try:
        index = build(args.out, args.max_seconds, args.sample_rate, args.m21_limit, args.mma_songs, args.mma_only,
                      sounds=args.sounds)
    except (RuntimeError, ValueError, OSError, subprocess.CalledProcessError) as e:
        print(f"synesthete-midi-pool: error: {e}", file=sys.stderr)
        return 1
    drums = sum(1 for x in index if x["drum_hits"])
    print(f"synesthete-midi-pool: {len(index)} pieces ({drums} with drums, "
          f"{sum(1 for x in index if x['has_bass'])} with a bass program, "
          f"{sum(x['seconds'] for x in index) / 60:.1f} min) in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
