"""Metrics: numbers for how well visuals follow the music (definitions in docs/evaluation.md).

* `onset`          audio onset strength at the video frame rate + librosa-style peak picking
* `motion`         mean Farneback optical-flow magnitude per frame + its peaks
* `av_align`       AV-Align (Yariv et al. 2023): IoU of audio onset peaks and motion peaks, ±1 frame
* `beat_align`     AIST++ Beat Align Score adapted to visuals (motion peaks vs music beats, sigma 3 frames)
* `stability`      flicker where the audio is quiet (mean frame change and its high-frequency part)
* `reconstruction` PSNR and L1 against the teacher
* `clip`           all of the above for one clip (`score_clip`), as `synesthete-eval` reports them

Everything takes numpy or torch, frames as float `(T, 3, H, W)` in [0, 1] or uint8 `(T, H, W, 3)`.
"""

from synesthete.metrics.av_align import AlignResult, av_align, av_align_clip, av_align_score
from synesthete.metrics.beat_align import beat_align
from synesthete.metrics.clip import COLUMNS, ClipScores, score_clip
from synesthete.metrics.motion import motion_curve, motion_peaks, to_float_frames, to_uint8_frames
from synesthete.metrics.onset import PeakParams, onset_peaks, onset_strength, peak_pick, times_to_frames
from synesthete.metrics.reconstruction import l1_error, psnr
from synesthete.metrics.stability import StabilityResult, flicker

__all__ = [
    "AlignResult", "COLUMNS", "ClipScores", "PeakParams", "StabilityResult", "av_align", "av_align_clip",
    "av_align_score", "beat_align", "flicker", "l1_error", "motion_curve", "motion_peaks", "onset_peaks",
    "onset_strength", "peak_pick", "psnr", "score_clip", "times_to_frames", "to_float_frames", "to_uint8_frames",
]
