"""`synesthete-drum-bank`: render the General MIDI drum kits of soundfonts into the bank of recorded
one-shots the hearing trainer's songs can play (`data.sampled_drums`; synesthete.audio.drum_kit;
the rendering: synesthete_train.drum_bank).

    uv run --locked synesthete-drum-bank [--out runs/drum_bank.npz]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from synesthete.constants import SAMPLE_RATE
from synesthete_train.drum_bank import SLOT_SECONDS, SOUNDFONTS, build


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="synesthete-drum-bank", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("runs/drum_bank.npz"), help="the bank file (default: %(default)s)")
    p.add_argument("--soundfont", type=Path, action="append", metavar="SF2",
                   help="an .sf2/.sf3 with GM drum kits (bank 128) or a drum-only soundfont; repeat for several "
                        f"(default: the {len(SOUNDFONTS)} of synesthete_train.drum_bank.SOUNDFONTS: "
                        + ", ".join(p.name for p, _ in SOUNDFONTS) + ")")
    p.add_argument("--sample-rate", type=int, default=SAMPLE_RATE, help="the model's sample rate (default: %(default)s)")
    p.add_argument("--max-seconds", type=float, default=0.8, help="longest one-shot kept (default: %(default)s)")
    args = p.parse_args(argv)
    if not 0.05 <= args.max_seconds <= SLOT_SECONDS - 0.5:
        p.error(f"--max-seconds must be in [0.05, {SLOT_SECONDS - 0.5:g}]")
    try:
        info = build(args.out, args.soundfont, args.sample_rate, args.max_seconds)
    except (RuntimeError, ValueError, OSError) as e:
        print(f"synesthete-drum-bank: error: {e}", file=sys.stderr)
        return 1
    print(f"synesthete-drum-bank: {info['kits']} kits, {info['shots']} one-shots in {args.out} "
          f"({args.out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
