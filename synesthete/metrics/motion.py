"""Visual motion per frame: mean Farneback optical-flow magnitude, and its peaks.

The video side of the synchrony metrics. Following the AV-Align reference implementation
(Yariv et al. 2023), motion at frame t is the mean over pixels of the optical-flow magnitude
from frame t-1 to frame t, computed by OpenCV's dense Farneback flow on grayscale frames with

    pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0

(the parameters of the reference code). Units: pixels per frame at the frame size given, so
compare curves of one size only; the peak picker normalises the curve anyway. Motion at frame 0
is 0: nothing precedes it (the audio onset envelope is 0 at frame 0 too).

Also here: `to_uint8_frames`, the one place that turns the frame layouts used in Synesthete
(teacher/model float `(T, 3, H, W)` in [0, 1], or uint8 `(T, H, W, 3)` from the performer / an mp4)
into uint8 RGB `(T, H, W, 3)`, and `to_float_frames` for the reverse.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from synesthete.metrics.onset import PeakParams, pick_curve_peaks

FARNEBACK = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)


def _as_numpy(frames: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(frames, torch.Tensor):
        return frames.detach().to("cpu", torch.float32).numpy() if frames.is_floating_point() else frames.cpu().numpy()
    return np.asarray(frames)


def _channels_last(frames: np.ndarray) -> np.ndarray:
    if frames.ndim != 4:
        raise ValueError(f"frames must be (T, H, W, 3) or (T, 3, H, W), got shape {frames.shape}")
    if frames.shape[-1] == 3:
        return frames
    if frames.shape[1] == 3:
        return frames.transpose(0, 2, 3, 1)
    raise ValueError(f"frames must have 3 colour channels first or last, got shape {frames.shape}")


def to_uint8_frames(frames: np.ndarray | torch.Tensor) -> np.ndarray:
    """Any frame layout -> contiguous uint8 RGB (T, H, W, 3). Floats are read as [0, 1]."""
    arr = _channels_last(_as_numpy(frames))
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def to_float_frames(frames: np.ndarray | torch.Tensor) -> np.ndarray:
    """Any frame layout -> float32 RGB (T, H, W, 3) in [0, 1]. uint8 is divided by 255."""
    arr = _channels_last(_as_numpy(frames))
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    return np.ascontiguousarray(arr, dtype=np.float32)


def flow_magnitude(prev_gray: np.ndarray, gray: np.ndarray) -> float:
    """Mean Farneback flow magnitude (pixels) from one grayscale uint8 frame to the next."""
    flow = cv2.calcOpticalFlowFarneback(prev_gray, gray, None, **FARNEBACK)  # (H, W, 2)
    return float(cv2.magnitude(flow[..., 0], flow[..., 1]).mean())


def motion_curve(frames: np.ndarray | torch.Tensor) -> np.ndarray:
    """Per-frame motion (T,): 0 at frame 0, then mean flow magnitude from frame t-1 to frame t."""
    rgb = to_uint8_frames(frames)  # (T, H, W, 3)
    curve = np.zeros(rgb.shape[0], dtype=np.float32)
    prev = None
    for t, frame in enumerate(rgb):
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if prev is not None:
            curve[t] = flow_magnitude(prev, gray)
        prev = gray
    return curve


def motion_peaks(curve: np.ndarray, fps: float, params: PeakParams = PeakParams()) -> np.ndarray:
    """Frame indices of visual-motion peaks: the same normalise + peak_pick as the audio onsets."""
    return pick_curve_peaks(curve, fps, params)
