"""`synesthete-analyze`: what the hearing model hears in an audio file, as JSON cue points.

    synesthete-analyze song.flac -o song.json
    synesthete-analyze set.mp3 --checkpoint runs/a/last.pt > set.json

Runs the shipped (or named) hearing model causally over any file FFmpeg reads and writes its beats,
downbeats, per-stem hits, chord spans, tempo and every music-state field per frame (keys in
`synesthete.analysis`; docs/analyze.md). Event times are when the model first knew, as a live show
would have seen them. The work is done by `synesthete.analysis`; this module parses arguments,
checks the output can be written before the (possibly long) run, and reports errors in one line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="synesthete-analyze",
        description="Hear an audio file with the hearing model and write beats, downbeats, stem hits, chords, "
        "tempo and the per-frame music state as JSON (to stdout without -o).",
        epilog="Example:\n  synesthete-analyze song.flac -o song.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("audio", type=Path, metavar="AUDIO", help="any audio (or video) file FFmpeg reads")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="OUT.json", help="write here (default: stdout)")
    p.add_argument("--checkpoint", default=None, help="hearing model checkpoint (default: the shipped one)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: one frame at a time gains nothing from more)")
    p.add_argument("--onset-threshold", type=float, default=None, metavar="P",
                   help="onset value that counts as a hit, 0..1, every stem (default: the checkpoint's "
                        "calibrated per-stem thresholds, else 0.3)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def _check_output(path: Path) -> None:
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a file name for the JSON")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ValueError(f"{path}: folder {path.parent} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"{path}: cannot write there (permission denied)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        import torch

        from synesthete.analysis import analyze_file
        from synesthete.device import pick_device
        from synesthete.music_events import DetectorConfig

        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
        if args.output is not None:
            _check_output(args.output)
        config = DetectorConfig(onset_threshold=args.onset_threshold) if args.onset_threshold is not None else None
        report = analyze_file(args.audio, args.checkpoint, pick_device(args.device), progress=not args.no_progress,
                              config=config)
        text = json.dumps(report, separators=(",", ":")) + "\n"
        if args.output is None:
            sys.stdout.write(text)
        else:
            args.output.write_text(text)
    except KeyboardInterrupt:
        print("synesthete-analyze: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as e:
        print(f"synesthete-analyze: error: {e}", file=sys.stderr)
        return 1
    if args.output is not None:
        n_hits = sum(len(v) for v in report["onsets"].values())
        print(f"wrote {args.output}: {report['duration_s']:.1f} s, {report['tempo_bpm']:g} BPM, "
              f"{len(report['beats'])} beats, {len(report['downbeats'])} downbeats, {n_hits} hits, "
              f"{len(report['chords'])} chords", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
