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

`evaluate_model(model, seeds, duration, size, device)` is the quick held-out evaluation, and
`teacher_figures` the loop it shares with the trainer's evaluation between steps.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synesthete.metrics.clip import COLUMNS, ClipScores, score_clip

SEED_BASE = 10_000  # held-out procedural songs start here
# Procedural songs are rarely quiet (their levels sit around -25..-10 dBFS), so each one is
# followed by this much silence: a quiet passage on which flicker_quiet is always measured.
QUIET_TAIL_S = 1.0
ROWS = ("model", "teacher", "fft_bars")


@dataclass
class EvalItem:
    source: str  # "seed 10000" or a file path
    style: str
    audio: np.ndarray  # (S,) mono at the model rate, S = T * hop
    beat_times: np.ndarray | None  # from the score, when there is one
    teacher: torch.Tensor | None  # (T, 3, H, W) in [0, 1]


def style_controls(cfg, style: str, n_frames: int) -> torch.Tensor:
    """(T, C) controls: one-hot `style` in the model config's style order, then reactivity 1."""
    controls = torch.zeros(n_frames, cfg.n_control_inputs)
    controls[:, list(cfg.styles).index(style)] = 1.0
    controls[:, len(cfg.styles)] = 1.0
    return controls


@torch.inference_mode()
def model_frames(model, audio: np.ndarray, style: str, size: int, device: torch.device | str) -> torch.Tensor:
    """The model's frames for a clip, (T, 3, size, size) float on the CPU."""
    from synesthete.features import FeatureExtractor

    cfg = model.cfg
    fx = FeatureExtractor.for_model(cfg, device)
    feats = fx.extract(torch.from_numpy(audio).to(device)[None])  # (1, T, F)
    controls = style_controls(cfg, style, feats.shape[1]).to(device)[None]  # (1, T, C)
    was_training = model.training
    model.eval()
    frames = model(feats, controls, size=(size, size))[0].float().cpu()  # (T, 3, H, W)
    model.train(was_training)
    return frames


def procedural_song(cfg, seed: int, duration: float, quiet_tail: float = 0.0):
    """A held-out song at a model's rate: (audio (S,) mono, the score's MusicState for every
    frame, beat times in seconds). `quiet_tail` seconds of silence follow the music; the controls
    run on past its end (envelopes decay, nothing new starts)."""
    from synesthete.audio.engine import render_clip

    hop = cfg.sample_rate // cfg.fps
    n_music = max(2, int(round(duration * cfg.fps)))
    n_frames = n_music + int(round(quiet_tail * cfg.fps))
    clip = render_clip(seed, n_music * hop / cfg.sample_rate, sample_rate=cfg.sample_rate)
    audio = np.zeros(n_frames * hop, np.float32)
    mono = clip.audio if clip.audio.ndim == 1 else clip.audio.mean(axis=0)
    take = min(mono.shape[-1], n_music * hop)
    audio[:take] = mono[:take]
    return audio, clip.score.music_state(cfg.fps, n_frames), np.asarray(clip.score.beat_times)


def procedural_item(cfg, seed: int, index: int, duration: float, size: int, quiet_tail: float = 0.0) -> EvalItem:
    """A held-out song for a model of config `cfg` (`procedural_song`) with the teacher's frames
    in the model's style `index`. The trainer's held-out evaluation uses it too."""
    from synesthete.visual.teacher import STYLE_NAMES, render_teacher

    style = cfg.styles[index % len(cfg.styles)]
    if style not in STYLE_NAMES:
        raise ValueError(f"the model's style {style!r} is not a teacher style ({', '.join(STYLE_NAMES)}); "
                         "a teacher comparison needs a model trained on the teacher's styles")
    audio, controls, beat_times = procedural_song(cfg, seed, duration, quiet_tail)
    teacher = render_teacher(controls, {style: 1.0}, size, size, reactivity=1.0)
    return EvalItem(f"seed {seed}", style, audio, beat_times, teacher)


def file_item(model, path: Path, index: int, duration: float | None) -> EvalItem:
    """An audio file: decoded, downmixed, resampled to the model rate; no score, no teacher."""
    from synesthete.render_cli import decode_audio, to_model_audio

    cfg = model.cfg
    hop = cfg.sample_rate // cfg.fps
    audio = to_model_audio(decode_audio(path), cfg.sample_rate)
    if duration is not None:
        audio = audio[: int(duration * cfg.sample_rate)]
    audio = audio[: (audio.size // hop) * hop]
    if audio.size < 2 * hop:
        raise ValueError(f"{path}: too short to evaluate (needs at least 2 frames, {2 * hop} samples at "
                         f"{cfg.sample_rate} Hz)")
    return EvalItem(str(path), cfg.styles[index % len(cfg.styles)], audio, None, None)


def score_item(model, item: EvalItem, size: int, device) -> dict[str, ClipScores]:
    """Every row's scores on one item (the teacher row only when the item has a teacher)."""
    from synesthete.baseline import FFTBars

    cfg = model.cfg
    out: dict[str, ClipScores] = {}
    frames = model_frames(model, item.audio, item.style, size, device)
    out["model"] = score_clip(frames, item.audio, cfg.sample_rate, cfg.fps, item.beat_times, item.teacher)
    if item.teacher is not None:
        out["teacher"] = score_clip(item.teacher, item.audio, cfg.sample_rate, cfg.fps, item.beat_times)
    bars = FFTBars(cfg.sample_rate, cfg.fps, size, size).render(item.audio)
    out["fft_bars"] = score_clip(bars, item.audio, cfg.sample_rate, cfg.fps, item.beat_times, item.teacher)
    return out


def teacher_figures(model, items: list[EvalItem], size: int, device: str | torch.device = "cpu",
                    av_align: bool = True, teacher_av: dict[int, float] | None = None,
                    ) -> tuple[dict[str, float], torch.Tensor]:
    """Mean L1 / PSNR of the model's frames against each item's teacher, and the AV-Align of both.

    Returns ({"l1", "psnr"} + with av_align {"av_align_model", "av_align_teacher"}, the first
    item's model frames (T, 3, size, size)). `teacher_av` caches the teachers' AV-Align by item
    index, filled in on first use: it never changes, and the trainer scores the same songs at
    every evaluation.
    """
    from synesthete.metrics.av_align import av_align_score
    from synesthete.metrics.reconstruction import l1_error, psnr

    cfg = model.cfg
    teacher_av = {} if teacher_av is None else teacher_av
    l1s, psnrs, av_m, av_t = [], [], [], []
    first = None
    for i, item in enumerate(items):
        frames = model_frames(model, item.audio, item.style, size, device)
        first = frames if first is None else first
        l1s.append(float(l1_error(frames, item.teacher)))
        psnrs.append(float(psnr(frames, item.teacher)))
        if av_align:
            av_m.append(av_align_score(item.audio, frames, cfg.sample_rate, cfg.fps))
            if i not in teacher_av:
                teacher_av[i] = av_align_score(item.audio, item.teacher, cfg.sample_rate, cfg.fps)
            av_t.append(teacher_av[i])
    figures = {"l1": float(np.mean(l1s)), "psnr": float(np.mean(psnrs))}
    if av_align:
        figures.update(av_align_model=float(np.mean(av_m)), av_align_teacher=float(np.mean(av_t)))
    return figures, first


def evaluate_model(model, seeds, duration: float = 2.0, size: int = 64, device: str | torch.device = "cpu") -> dict[str, float]:
    """Quick held-out evaluation: `teacher_figures` on the held-out songs `seeds` (no quiet tail).

    Returns {"l1", "psnr", "av_align_model", "av_align_teacher"}; a few seconds for 2-4 short clips.
    """
    items = [procedural_item(model.cfg, int(seed), i, duration, size) for i, seed in enumerate(seeds)]
    return teacher_figures(model, items, size, device)[0]


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
                     help=f"evaluate N held-out procedural songs, seeds {SEED_BASE}.. (default 4 without --audio)")
    src.add_argument("--seed-list", type=int, nargs="+", default=None, metavar="SEED", help="these procedural seeds")
    p.add_argument("--audio", type=Path, nargs="+", default=[], metavar="FILE", help="audio files (no teacher row)")
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
    seeds = args.seed_list or [SEED_BASE + i for i in range(args.seeds if args.seeds is not None else (0 if args.audio else 4))]
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


if __name__ == "__main__":
    sys.exit(main())
