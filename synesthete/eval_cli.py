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

With --hearing it scores a hearing checkpoint instead (synesthete.hearing_evaluation): beat and
downbeat F-measure, onset F per stem, chord root accuracy and energy correlation (mir_eval's
definitions, events after the first 4 s), next to aubio (online) and librosa (offline) baselines,
on held-out procedural songs heard as from a room mic (the score is the truth) and on the dev set
of human-written MIDI music (scripts/make_dev_set.py):

    synesthete-eval --hearing --seeds 8 --dev-set results/dev_set --json hearing.json

With --video it scores rendered files (synesthete-render output) against their own audio track:
AV-Align next to its chance level (the same motion peaks shifted by seconds) and beat alignment,
with FFT bars drawn from the same audio beside them, per file and on average:

    synesthete-eval --video renders/*.mp4 --dev-set results/dev_set --json looks.json

The work is done by `synesthete.evaluation` and `synesthete.hearing_evaluation`; this module parses
arguments, tabulates and writes.
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

ROWS = ("model", "teacher", "fft_bars")


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
    p.add_argument("--video", type=Path, nargs="+", default=[], metavar="MP4",
                   help="rendered files (synesthete-render output): their frames against their own audio, next to "
                   "FFT bars on that audio, each AV-Align with its chance level; with --dev-set, an excerpt's "
                   "MIDI beats (NAME.mp4 <-> DIR/NAME.json) are the beats of beat_align")
    p.add_argument("--checkpoint", default=None, help="model checkpoint (default: the shipped one)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the report as JSON")
    p.add_argument("--plot", type=Path, default=None, metavar="PNG", help="plot onset strength vs motion (first item)")
    p.add_argument("--size", type=int, default=128, help="frame size for every visualizer (default 128)")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds per procedural song (default 8) / per audio file (default: whole file)")
    p.add_argument("--quiet-tail", type=float, default=QUIET_TAIL_S, metavar="S",
                   help=f"seconds of silence after each procedural song, for flicker_quiet (default {QUIET_TAIL_S:g})")
    p.add_argument("--hearing", action="store_true",
                   help="score a hearing checkpoint's music state (beats, downbeats, onsets, chords) instead of visuals")
    p.add_argument("--dev-set", type=Path, default=None, metavar="DIR",
                   help="with --hearing: the dev set built by scripts/make_dev_set.py (default results/dev_set if built)")
    p.add_argument("--no-baselines", action="store_true", help="with --hearing: skip the aubio and librosa rows")
    p.add_argument("--onset-threshold", type=float, default=None, metavar="P",
                   help="with --hearing: the model's onset value that counts as a hit, every stem (default: the "
                        "checkpoint's calibrated per-stem thresholds, else 0.3, as live)")
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
    if args.video:
        print(format_video_table(report))
    elif args.hearing:
        from synesthete.hearing_evaluation import format_hearing_table

        print("\n\n".join(format_hearing_table(f"{name} ({t['model']['items']:.0f} items)", t)
                            for name, t in report["tables"].items()))
    else:
        print(format_table(report["table"]))
    for path in (args.json, args.plot):
        if path is not None:
            print(f"wrote {path}")
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    from synesthete.checkpoint import load_model, resolve_checkpoint
    from synesthete.device import pick_device

    torch.set_num_threads(max(1, args.threads))
    if args.hearing:
        if args.video:
            raise ValueError("--video scores rendered pictures; leave it out with --hearing")
        return run_hearing(args)
    if args.video:
        return run_video(args)
    if args.dev_set is not None or args.no_baselines:
        raise ValueError("--dev-set and --no-baselines go with --hearing")
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


VIDEO_COLUMNS = ("av_align", "av_align_chance", "beat_align", "video_peaks", "audio_peaks")


def run_video(args: argparse.Namespace) -> dict[str, Any]:
    """Rendered files scored against their own audio: {"files": [{"file", "beats", "video", "fft_bars"}], "table"}."""
    from synesthete.evaluation import score_rendered

    if args.audio or args.seeds is not None or args.seed_list or args.plot is not None or args.no_baselines:
        raise ValueError("--video scores rendered files on their own: leave out --audio, --seeds, --seed-list, --plot, --no-baselines")
    for path in args.video:
        if not path.is_file():
            raise ValueError(f"{path}: no such file")
    if args.json is not None and not args.json.resolve().parent.is_dir():
        raise ValueError(f"{args.json}: folder {args.json.parent} does not exist")
    t0 = time.perf_counter()
    files = []
    for n, path in enumerate(args.video, start=1):
        print(f"[{n}/{len(args.video)}] {path}", file=sys.stderr, flush=True)
        truth = args.dev_set / f"{path.stem}.json" if args.dev_set is not None else None
        beats = np.asarray(json.loads(truth.read_text())["beats"]) if truth is not None and truth.is_file() else None
        scores = score_rendered(path, beat_times=beats, duration=args.duration)
        files.append({"file": str(path), "beats": "MIDI" if beats is not None else "audio onsets",
                      **{row: s.figures for row, s in scores.items()}})
    table = {row: {c: _nanmean([f[row][c] for f in files]) for c in VIDEO_COLUMNS} for row in ("video", "fft_bars")}
    report = {"seconds": round(time.perf_counter() - t0, 2), "files": files, "table": table}
    if args.json is not None:
        args.json.write_text(json.dumps(_json_safe(report), indent=2) + "\n")
    return report


def format_video_table(report: dict[str, Any]) -> str:
    head = f"{'':<34}" + "".join(f"{c:>16}" for c in VIDEO_COLUMNS)
    lines = [head]
    rows = [(f"{Path(f['file']).name[:24]} {row}", f[row]) for f in report["files"] for row in ("video", "fft_bars")]
    rows += [(f"mean {row}", report["table"][row]) for row in ("video", "fft_bars")]
    for name, figs in rows:
        lines.append(f"{name:<34}" + "".join(
            f"{'-' if math.isnan(figs[c]) else (f'{figs[c]:.0f}' if c.endswith('peaks') else f'{figs[c]:.3f}'):>16}"
            for c in VIDEO_COLUMNS))
    return "\n".join(lines)


def run_hearing(args: argparse.Namespace) -> dict[str, Any]:
    """The hearing report: {"tables": {set: {row: means}}, "items": {set: {row: [per item]}}, ...}."""
    from synesthete.checkpoint import load_model, resolve_checkpoint
    from synesthete.device import pick_device
    from synesthete.hearing_evaluation import (MIN_TIME_S, default_seeds, dev_set_items, evaluate_hearing,
                                               procedural_items, summarize)
    from synesthete.constants import STEMS
    from synesthete.music_events import detector_config

    if args.audio or args.plot is not None:
        raise ValueError("--audio and --plot score visuals; leave them out with --hearing")
    if args.duration is not None and args.duration <= MIN_TIME_S:
        raise ValueError(f"--duration must be > {MIN_TIME_S:g} s with --hearing (events before {MIN_TIME_S:g} s are not scored)")
    if args.json is not None and not args.json.resolve().parent.is_dir():
        raise ValueError(f"{args.json}: folder {args.json.parent} does not exist")
    dev_set = args.dev_set
    if dev_set is None and (Path("results/dev_set") / "index.json").is_file():
        dev_set = Path("results/dev_set")
    seeds = args.seed_list or default_seeds(args.seeds if args.seeds is not None else 8)
    device = pick_device(args.device)
    checkpoint = resolve_checkpoint(args.checkpoint, "hearing")
    model = load_model(checkpoint, device=device, kind="hearing")
    t0 = time.perf_counter()
    sets = {}
    if seeds:
        sets["procedural, room mic"] = procedural_items(model.cfg, seeds, args.duration or 16.0)
    if dev_set is not None:
        sets["dev set"] = dev_set_items(dev_set, model.cfg.sample_rate)
    if not any(sets.values()):
        raise ValueError("nothing to evaluate: give --seeds N (N >= 1) or --dev-set DIR")
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    config = detector_config(model.cfg, args.onset_threshold)
    rows = {name: evaluate_hearing(model, items, device, baselines=not args.no_baselines, config=config, log=log)
            for name, items in sets.items() if items}
    report = {
        "checkpoint": str(checkpoint), "fps": model.cfg.fps, "sample_rate": model.cfg.sample_rate,
        "min_time_s": MIN_TIME_S, "onset_threshold": config.onset_threshold,
        "onset_thresholds": dict(zip(STEMS, config.stem_thresholds)),
        "seeds": seeds, "dev_set": str(dev_set) if dev_set is not None else None,
        "seconds": round(time.perf_counter() - t0, 2),
        "tables": {name: summarize(r) for name, r in rows.items()},
        "items": {name: {"sources": [it.source for it in sets[name]], **r} for name, r in rows.items()},
    }
    if args.json is not None:
        args.json.write_text(json.dumps(_json_safe(report), indent=2) + "\n")
    return report


if __name__ == "__main__":
    sys.exit(main())
