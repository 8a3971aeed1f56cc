"""`synesthete-eval`: score visuals against their audio, for the model, the teacher and a baseline.

    synesthete-eval --checkpoint runs/a/last.pt --seeds 4 --json eval.json --plot eval.png
    synesthete-eval --checkpoint runs/a/last.pt --audio song.flac --duration 20

On the same audio it compares three visualizers:

* model:    the checkpoint's `forward` (what `model.step` draws, before post effects), at --size;
* teacher:  the procedural visualizers drawn from the song's score (only where a score exists:
            held-out procedural seeds, 10000 and up, never drawn by training);
* fft_bars: the plain spectrum-bars baseline (`synesthete.baseline`).

Item i is drawn in the model's style i mod n_styles (one-hot, reactivity 1), by model and
teacher alike. Columns (definitions in docs/evaluation.md): av_align, beat_align, flicker_quiet,
psnr_vs_teacher, l1_vs_teacher. The table holds the mean over items (NaN-aware); the JSON report
holds every item too; the PNG plots onset strength against motion for the first item.

The work is done by `synesthete.evaluation`; this module parses arguments, tabulates and writes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synesthete.constants import HELD_OUT_SEED_BASE
from synesthete.evaluation import QUIET_TAIL_S, file_item, procedural_item, score_item
from synesthete.metrics.clip import COLUMNS, ClipScores

ROWS = ("model", "teacher", "video", "fft_bars")


def summarize(per_item: list[dict[str, ClipScores]]) -> dict[str, dict[str, float]]:
    """Mean of each figure over the items that have that row (NaN-aware), plus the item count."""
    table: dict[str, dict[str, float]] = {}
    for row in ROWS:
        scored = [item[row].figures for item in per_item if row in item]
        if not scored:
            continue
        keys = scored[0].keys()
        table[row] = {k: _nanmean([s[k] for s in scored]) for k in keys}
        table[row]["items"] = float(len(scored))
    return table


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def format_table(table: dict[str, dict[str, float]]) -> str:
    head = f"{'':<10}" + "".join(f"{c:>17}" for c in COLUMNS)
    lines = [head]
    for row, figs in table.items():
        cells = "".join(f"{'-' if math.isnan(figs[c]) else f'{figs[c]:.4f}':>17}" for c in COLUMNS)
        lines.append(f"{row:<10}{cells}")
    return "\n".join(lines)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="synesthete-eval",
        description="Score visuals against audio: the model, the teacher (on procedural songs) and an "
        "FFT-bars baseline, on AV-Align, beat alignment, quiet-passage flicker and PSNR/L1 vs the teacher.",
        epilog="Examples:\n  synesthete-eval --checkpoint last.pt --seeds 4 --json eval.json --plot eval.png\n"
        "  synesthete-eval --checkpoint last.pt --audio song.flac --duration 30",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--seeds", type=int, default=None, metavar="N",
                     help=f"evaluate N held-out procedural songs, seeds {HELD_OUT_SEED_BASE}.. (default 4 without --audio)")
    src.add_argument("--seed-list", type=int, nargs="+", default=None, metavar="SEED", help="these procedural seeds")
    p.add_argument("--audio", type=Path, nargs="+", default=[], metavar="FILE", help="audio files (no teacher row)")
    p.add_argument("--video", nargs="+", type=Path, default=[], metavar="MP4",
                   help="score these rendered videos (synesthete-render output, one per --audio file, same order) "
                   "instead of the model: rows 'video' and 'fft_bars' at the video's frame rate")
    p.add_argument("--checkpoint", default=None, help="model checkpoint (default: the shipped one)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the report as JSON")
    p.add_argument("--plot", type=Path, default=None, metavar="PNG", help="plot onset strength vs motion (first item)")
    p.add_argument("--size", type=int, default=128, help="frame size for every visualizer (default 128)")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds per procedural song (default 8) / per audio file (default: whole file)")
    p.add_argument("--quiet-tail", type=float, default=QUIET_TAIL_S, metavar="S",
                   help=f"seconds of silence after each procedural song, for flicker_quiet (default {QUIET_TAIL_S:g})")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = run(args)
    except KeyboardInterrupt:
        print("synesthete-eval: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as e:
        print(f"synesthete-eval: error: {e}", file=sys.stderr)
        return 1
    print(format_table(report["table"]))
    for path in (args.json, args.plot):
        if path is not None:
            print(f"wrote {path}")
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    from synesthete.checkpoint import load_model, resolve_checkpoint
    from synesthete.device import pick_device

    torch.set_num_threads(max(1, args.threads))
    if args.size < 16:
        raise ValueError(f"--size must be >= 16 pixels (optical flow needs room), got {args.size}")
    if args.duration is not None and args.duration <= 0:
        raise ValueError(f"--duration must be > 0 seconds, got {args.duration}")
    if args.quiet_tail < 0:
        raise ValueError(f"--quiet-tail must be >= 0 seconds, got {args.quiet_tail}")
    for path in (args.json, args.plot):
        if path is not None and not path.resolve().parent.is_dir():
            raise ValueError(f"{path}: folder {path.parent} does not exist")
    seeds = args.seed_list or [HELD_OUT_SEED_BASE + i for i in range(args.seeds if args.seeds is not None else (0 if args.audio else 4))]
    if not seeds and not args.audio:
        raise ValueError("nothing to evaluate: give --seeds N (N >= 1), --seed-list or --audio FILE")
    if args.video:
        return run_videos(args)
    device = pick_device(args.device)
    checkpoint = resolve_checkpoint(args.checkpoint, "pixel")
    model = load_model(checkpoint, device=device, kind="pixel")
    t0 = time.perf_counter()
    items = [procedural_item(model.cfg, s, i, args.duration or 8.0, args.size, args.quiet_tail) for i, s in enumerate(seeds)]
    items += [file_item(model, path, len(items) + i, args.duration) for i, path in enumerate(args.audio)]
    per_item = []
    for n, item in enumerate(items, start=1):
        print(f"[{n}/{len(items)}] {item.source} ({item.style})", file=sys.stderr, flush=True)
        per_item.append(score_item(model, item, args.size, device))
    table = summarize(per_item)
    report = {
        "checkpoint": str(checkpoint), "size": args.size, "fps": model.cfg.fps, "sample_rate": model.cfg.sample_rate,
        "duration": args.duration, "quiet_tail": args.quiet_tail,
        "seconds": round(time.perf_counter() - t0, 2), "columns": list(COLUMNS), "table": table,
        "items": [{"source": it.source, "style": it.style, **{row: s.figures for row, s in scores.items()}}
                  for it, scores in zip(items, per_item)],
    }
    if args.json is not None:
        args.json.write_text(json.dumps(_json_safe(report), indent=2) + "\n")
    if args.plot is not None:
        from synesthete.metrics.plot import Panel, save_plot

        first = per_item[0]
        panels = [Panel(f"{row}: AV-Align {s.figures['av_align']:.3f}, beat align {s.figures['beat_align']:.3f}",
                        s.onset, s.motion, s.audio_peaks, s.video_peaks) for row, s in first.items()]
        save_plot(args.plot, panels, model.cfg.fps, f"{items[0].source}, style {items[0].style}: "
                  "audio onset strength vs visual motion")
    return report


def run_videos(args: argparse.Namespace) -> dict[str, Any]:
    """`--video`: rendered videos against their audio files, next to FFT bars at the same frame rate."""
    from synesthete.evaluation import score_video

    if len(args.video) != len(args.audio):
        raise ValueError(f"--video needs one video per --audio file: got {len(args.video)} videos, "
                         f"{len(args.audio)} audio files")
    t0 = time.perf_counter()
    per_item = []
    for n, (video, audio) in enumerate(zip(args.video, args.audio), start=1):
        if not video.is_file():
            raise ValueError(f"{video}: no such file")
        print(f"[{n}/{len(args.video)}] {video} against {audio}", file=sys.stderr, flush=True)
        per_item.append(score_video(video, audio, args.size, args.duration))
    report = {"size": args.size, "duration": args.duration, "seconds": round(time.perf_counter() - t0, 2),
              "columns": list(COLUMNS), "table": summarize(per_item),
              "items": [{"source": str(v), "audio": str(a), **{row: s.figures for row, s in scores.items()}}
                        for v, a, scores in zip(args.video, args.audio, per_item)]}
    if args.json is not None:
        args.json.write_text(json.dumps(_json_safe(report), indent=2) + "\n")
    return report


if __name__ == "__main__":
    sys.exit(main())
