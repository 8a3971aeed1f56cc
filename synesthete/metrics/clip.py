"""Every metric of one clip at once: the row `synesthete-eval` prints for a visualizer on one song.

`score_clip(frames, audio, ...)` computes the audio onset curve and the motion curve once and
derives AV-Align, beat alignment, quiet-passage flicker and (given the teacher's frames) PSNR/L1
from them, keeping the curves and peaks for the eval plot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from synesthete.metrics.av_align import av_align
from synesthete.metrics.beat_align import beat_align
from synesthete.metrics.motion import motion_curve, motion_peaks
from synesthete.metrics.onset import onset_strength, pick_curve_peaks, times_to_frames
from synesthete.metrics.reconstruction import l1_error, psnr
from synesthete.metrics.stability import flicker

# Columns of the eval table, in order.
COLUMNS = ("av_align", "beat_align", "flicker_quiet", "psnr_vs_teacher", "l1_vs_teacher")


@dataclass
class ClipScores:
    figures: dict[str, float]  # COLUMNS plus peak counts and the other flicker figures
    onset: np.ndarray  # (T,) audio onset strength
    motion: np.ndarray  # (T,) visual motion
    audio_peaks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    video_peaks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def score_clip(
    frames: np.ndarray | torch.Tensor,
    audio: np.ndarray,
    sample_rate: int,
    fps: float,
    beat_times: np.ndarray | None = None,
    teacher: np.ndarray | torch.Tensor | None = None,
) -> ClipScores:
    """Score `frames` (T frames, any layout) against mono `audio` (>= T * hop samples).

    `beat_times` (s), when the score is known, are the music beats of beat alignment; otherwise
    the audio onset peaks are. Without `teacher` the reconstruction columns are NaN.
    """
    audio = np.asarray(audio, dtype=np.float32)
    motion = motion_curve(frames)  # (T,)
    n = motion.shape[0]
    onset = onset_strength(audio, sample_rate, fps)[:n]  # (T,)
    if onset.shape[0] != n:
        raise ValueError(f"{n} frames need at least {n * int(sample_rate // fps)} audio samples, got {audio.size}")
    a_peaks = pick_curve_peaks(onset, fps)
    v_peaks = motion_peaks(motion, fps)
    align = av_align(a_peaks, v_peaks)
    beats = times_to_frames(beat_times, fps, n) if beat_times is not None else a_peaks
    stab = flicker(frames, audio, sample_rate, fps)
    figures = {
        "av_align": align.score,
        "beat_align": beat_align(v_peaks, beats),
        "flicker_quiet": stab.flicker_quiet,
        "psnr_vs_teacher": psnr(frames, teacher) if teacher is not None else float("nan"),
        "l1_vs_teacher": l1_error(frames, teacher) if teacher is not None else float("nan"),
        "flicker_hf_quiet": stab.flicker_hf_quiet,
        "flicker_all": stab.flicker_all,
        "quiet_frames": float(stab.n_quiet),
        "audio_peaks": float(align.n_audio),
        "video_peaks": float(align.n_video),
        "av_hits": float(align.hits),
    }
    return ClipScores(figures, onset, motion, a_peaks, v_peaks)
