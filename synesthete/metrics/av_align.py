"""AV-Align: do visual-motion peaks land on audio onsets? (Yariv et al. 2023)

From "Diverse and Aligned Audio-to-Video Generation via Text-to-Video Model Adaptation": detect
audio onset peaks and video motion peaks, call an audio peak a *hit* when a video peak lies
within ±1 frame of it, and score the intersection over union

    AV-Align = hits / (n_audio_peaks + n_video_peaks - hits)          in [0, 1]

Choices made here, each documented in docs/evaluation.md:

* Both curves live on the video frame grid (see `onset.py`), so "±1 frame" means
  |audio_frame - video_frame| <= 1 (the reference compares times with a strict 1/fps bound on
  a finer audio grid).
* Matching is one-to-one (a video peak explains at most one audio peak; nearest first). The
  reference lets one video peak match several audio peaks, which can push the score above 1.
* Edge cases: no audio peaks and no video peaks -> 1.0 (stillness on silence is perfect
  agreement); peaks on one side only -> 0.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from synesthete.metrics.motion import motion_curve, motion_peaks
from synesthete.metrics.onset import onset_strength, pick_curve_peaks

TOLERANCE_FRAMES = 1


@dataclass(frozen=True)
class AlignResult:
    score: float
    hits: int
    n_audio: int
    n_video: int


def match_peaks(audio_peaks: np.ndarray, video_peaks: np.ndarray, tolerance: int = TOLERANCE_FRAMES) -> int:
    """Number of one-to-one pairs (audio, video) with |a - v| <= tolerance, nearest pairs first."""
    a = np.asarray(audio_peaks, dtype=np.int64).ravel()
    v = np.asarray(video_peaks, dtype=np.int64).ravel()
    if a.size == 0 or v.size == 0:
        return 0
    dist = np.abs(a[:, None] - v[None, :])  # (n_audio, n_video)
    pairs = np.argwhere(dist <= tolerance)
    # Greedy by distance: exact coincidences claim their partner before ±1-frame neighbours do.
    order = np.argsort(dist[pairs[:, 0], pairs[:, 1]], kind="stable")
    used_a: set[int] = set()
    used_v: set[int] = set()
    for i, j in pairs[order]:
        if i not in used_a and j not in used_v:
            used_a.add(int(i))
            used_v.add(int(j))
    return len(used_a)


def av_align(audio_peaks: np.ndarray, video_peaks: np.ndarray, tolerance: int = TOLERANCE_FRAMES) -> AlignResult:
    """AV-Align IoU of two sets of peak frame indices (see module docstring for the edge cases)."""
    n_a, n_v = int(np.size(audio_peaks)), int(np.size(video_peaks))
    if n_a == 0 and n_v == 0:
        return AlignResult(1.0, 0, 0, 0)
    hits = match_peaks(audio_peaks, video_peaks, tolerance)
    return AlignResult(hits / (n_a + n_v - hits), hits, n_a, n_v)


def av_align_clip(audio: np.ndarray, frames: np.ndarray | torch.Tensor, sample_rate: int, fps: float) -> AlignResult:
    """AV-Align of one clip: onset peaks of `audio` (mono, S samples) against motion peaks of `frames`.

    `frames` is any layout `to_uint8_frames` accepts, T frames on the timing convention; the onset
    curve is cut to the same T (a clip of S samples has S // hop frames).
    """
    motion = motion_curve(frames)  # (T,)
    onsets = onset_strength(audio, sample_rate, fps)[: motion.shape[0]]  # (T,)
    if onsets.shape[0] != motion.shape[0]:
        raise ValueError(f"{motion.shape[0]} frames need {motion.shape[0] * int(sample_rate // fps)} audio samples "
                         f"at {sample_rate} Hz / {fps} fps; got {np.size(audio)}")
    return av_align(pick_curve_peaks(onsets, fps), motion_peaks(motion, fps))


def av_align_score(audio: np.ndarray, frames: np.ndarray | torch.Tensor, sample_rate: int, fps: float) -> float:
    """`av_align_clip(...).score`: the one number the trainer logs."""
    return av_align_clip(audio, frames, sample_rate, fps).score
