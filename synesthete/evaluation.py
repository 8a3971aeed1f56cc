"""Scoring visuals against their audio: evaluation items, the model's frames, teacher figures.

The library behind `synesthete-eval` (synesthete.eval_cli) and the trainer's held-out
evaluation between steps. On the same audio it compares three visualizers:

* model:    the checkpoint's `forward` (what `model.step` draws, before post effects);
* teacher:  the procedural visualizers drawn from the song's score (only where a score exists:
            held-out procedural seeds, HELD_OUT_SEED_BASE and up, never drawn by training);
* fft_bars: the plain spectrum-bars baseline (`synesthete.baseline`).

Item i is drawn in the model's style i mod n_styles (one-hot, reactivity 1), by model and
teacher alike. `evaluate_model(model, seeds, duration, size, device)` is the quick held-out
evaluation, and `teacher_figures` the loop it shares with the trainer's evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synesthete.constants import HELD_OUT_SEED_BASE
from synesthete.metrics.clip import ClipScores, score_clip

# Procedural songs are rarely quiet (their levels sit around -25..-10 dBFS), so each one is
# followed by this much silence: a quiet passage on which flicker_quiet is always measured.
QUIET_TAIL_S = 1.0


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
    from synesthete.audio_file import read_model_audio

    cfg = model.cfg
    hop = cfg.sample_rate // cfg.fps
    audio = read_model_audio(path, cfg.sample_rate)
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


# Shifts of the video's motion peaks for the chance level of AV-Align: far enough from the true
# alignment (seconds, not frames) that any hit left is coincidence, several to average the luck.
CHANCE_SHIFTS_S = (2.0, 3.0, 5.0, 7.0)
VIDEO_SCORE_SIZE = 128  # frames are scored at this height (optical flow cost); motion peaks do not depend on it


def read_video_frames(path: Path, height: int = VIDEO_SCORE_SIZE) -> tuple[np.ndarray, float]:
    """A rendered video's frames, decoded in order and scaled to `height` rows (aspect kept), as
    uint8 (T, H, W, 3), and its frame rate. ValueError naming the file when it has no video."""
    import cv2
    from torchcodec.decoders import VideoDecoder

    try:
        decoder = VideoDecoder(str(path), dimension_order="NHWC")
    except (RuntimeError, ValueError) as e:
        raise ValueError(f"{path}: not a readable video ({str(e).splitlines()[0] if str(e) else 'no video stream'})") from None
    fps = float(decoder.metadata.average_fps or 0.0)
    if fps <= 0:
        raise ValueError(f"{path}: the video stream has no frame rate")
    frames = []
    for k in range(0, len(decoder), 64):
        batch = decoder.get_frames_in_range(k, min(k + 64, len(decoder))).data.numpy()  # (n, H, W, 3)
        h, w = batch.shape[1:3]
        size = (max(16, round(w * height / h)), height)
        frames.extend(cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in batch)
    if len(frames) < 2:
        raise ValueError(f"{path}: fewer than 2 video frames")
    return np.stack(frames), fps


def chance_av_align(scores: ClipScores, fps: float) -> float:
    """AV-Align of the same motion peaks shifted (circularly) by CHANCE_SHIFTS_S: what a picture
    that moves as often, but not with the music, would score."""
    from synesthete.metrics.av_align import av_align

    n = scores.motion.shape[0]
    shifted = [av_align(scores.audio_peaks, np.sort((scores.video_peaks + int(round(s * fps))) % n)).score
               for s in CHANCE_SHIFTS_S if int(round(s * fps)) < n]
    return float(np.mean(shifted)) if shifted else float("nan")


def score_rendered(path: Path, sample_rate: int = 24_000, beat_times: np.ndarray | None = None,
                   duration: float | None = None) -> dict[str, ClipScores]:
    """A rendered file (synesthete-render output: video + its audio) scored against its own audio:
    rows "video" and "fft_bars" (the spectrum-bars baseline on the same audio, at the same frame
    rate and size), each with `av_align_chance` (its motion peaks shifted) beside AV-Align.

    Frame t is taken to show the audio up to (t + 1) / fps, the project's timing convention."""
    from synesthete.audio_file import read_model_audio
    from synesthete.baseline import FFTBars

    frames, video_fps = read_video_frames(path)
    fps = int(round(video_fps))  # the metrics work on whole-sample hops (sample_rate // fps)
    audio = read_model_audio(path, sample_rate)
    hop = sample_rate // fps
    n = min(frames.shape[0], audio.shape[0] // hop)
    if duration is not None:
        n = min(n, int(duration * fps))
    if n < 2:
        raise ValueError(f"{path}: too short to score (needs 2 video frames with audio under them)")
    frames, audio = frames[:n], audio[: n * hop]
    out: dict[str, ClipScores] = {}
    h, w = frames.shape[1:3]
    bars = FFTBars(sample_rate, fps, h, w).render(audio)[:n]
    for row, pictures in (("video", frames), ("fft_bars", bars)):
        scores = score_clip(pictures, audio, sample_rate, fps, beat_times)
        scores.figures["av_align_chance"] = chance_av_align(scores, fps)
        scores.figures["fps"] = fps
        out[row] = scores
    return out
