"""Beat Align Score (AIST++, Li et al. 2021 "AI Choreographer"), adapted to visuals.

AIST++ scores dance against music: for every kinematic beat (a local minimum of joint speed: the
dancer "hits" a pose) take the distance to the nearest music beat and average

    BeatAlign = mean over visual beats b of  exp(-min_m (b - m)^2 / (2 sigma^2)),  sigma = 3 frames

Adaptation: a visualizer "hits" a beat with a burst of motion (a flash, a jump, a zoom), not by
freezing, so the visual beats here are the *peaks* of the motion curve (`motion.motion_peaks`),
not its minima. Music beats are the score's beat times when the audio comes from the procedural
engine (`times_to_frames`), else the audio onset peaks. Distances are in frames at the video fps.

Edge cases: no visual beats or no music beats -> 0.0 (nothing to credit).
"""

from __future__ import annotations

import numpy as np

SIGMA_FRAMES = 3.0


def beat_align(visual_beats: np.ndarray, music_beats: np.ndarray, sigma: float = SIGMA_FRAMES) -> float:
    """Mean Gaussian credit of each visual beat by its nearest music beat; frames in, score in [0, 1]."""
    v = np.asarray(visual_beats, dtype=np.float64).ravel()
    m = np.asarray(music_beats, dtype=np.float64).ravel()
    if v.size == 0 or m.size == 0:
        return 0.0
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0 frames, got {sigma}")
    nearest = np.abs(v[:, None] - m[None, :]).min(axis=1)  # (n_visual,)
    return float(np.exp(-(nearest**2) / (2.0 * sigma**2)).mean())
