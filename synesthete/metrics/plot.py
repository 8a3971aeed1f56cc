"""A PNG of audio onset strength against visual motion over time, drawn with numpy and OpenCV.

matplotlib is not a dependency, and one chart type does not justify one: this draws panels of
line plots (axes, ticks, labels, legend) with `cv2.polylines` / `cv2.putText` into a numpy image
and writes it with `cv2.imwrite`. One panel per visualizer (model, teacher, fft_bars): the audio
onset strength (grey) and that visualizer's motion (colour), each normalised to [0, 1], with the
audio onset peaks marked as grey ticks along the top and the motion peaks as coloured dots.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from synesthete.metrics.onset import normalize

WIDTH = 1400
PANEL_H = 230
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 60, 20, 34, 36
FONT = cv2.FONT_HERSHEY_SIMPLEX
GREY = (150, 150, 150)
INK = (40, 40, 40)
# BGR colours per panel, in order.
COLOURS = ((200, 90, 30), (40, 140, 40), (40, 40, 210), (160, 60, 160))


@dataclass
class Panel:
    title: str
    onset: np.ndarray  # (T,) audio onset strength
    motion: np.ndarray  # (T,) visual motion
    audio_peaks: np.ndarray  # frame indices
    video_peaks: np.ndarray  # frame indices


def _nice_step(span: float, target_ticks: int = 10) -> float:
    raw = span / max(target_ticks, 1)
    mag = 10 ** np.floor(np.log10(raw)) if raw > 0 else 1.0
    return float(min((m * mag for m in (1, 2, 5, 10)), key=lambda s: abs(span / s - target_ticks)))


def _draw_panel(img: np.ndarray, top: int, panel: Panel, fps: float, colour: tuple[int, int, int]) -> None:
    x0, x1 = MARGIN_L, WIDTH - MARGIN_R
    y0, y1 = top + MARGIN_T, top + PANEL_H - MARGIN_B  # y0 is the top of the plot area
    n = max(len(panel.onset), 2)
    seconds = n / fps

    def px(frames: np.ndarray) -> np.ndarray:
        return x0 + (np.asarray(frames, np.float64) + 1) / fps / seconds * (x1 - x0)

    def py(values: np.ndarray) -> np.ndarray:
        return y1 - np.asarray(values, np.float64) * (y1 - y0)

    cv2.putText(img, panel.title, (x0, top + 22), FONT, 0.55, INK, 1, cv2.LINE_AA)
    cv2.rectangle(img, (x0, y0), (x1, y1), INK, 1)
    for v in (0.0, 0.5, 1.0):  # y ticks
        y = int(round(py(v)))
        cv2.line(img, (x0 - 5, y), (x0, y), INK, 1)
        cv2.putText(img, f"{v:.1f}", (x0 - 40, y + 5), FONT, 0.4, INK, 1, cv2.LINE_AA)
    step = _nice_step(seconds)
    for t in np.arange(0.0, seconds + 1e-9, step):  # x ticks in seconds
        x = int(round(x0 + t / seconds * (x1 - x0)))
        cv2.line(img, (x, y1), (x, y1 + 5), INK, 1)
        cv2.putText(img, f"{t:g}", (x - 8, y1 + 20), FONT, 0.4, INK, 1, cv2.LINE_AA)
    cv2.putText(img, "time (s)", (x1 - 60, y1 + 32), FONT, 0.4, INK, 1, cv2.LINE_AA)
    frames = np.arange(len(panel.onset))
    for curve, col in ((normalize(panel.onset), GREY), (normalize(panel.motion), colour)):
        pts = np.stack([px(frames), py(curve)], axis=1).round().astype(np.int32)  # (T, 2)
        cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, col, 1, cv2.LINE_AA)
    for f in panel.audio_peaks:  # audio peaks: grey ticks hanging from the top edge
        x = int(round(px(f)))
        cv2.line(img, (x, y0), (x, y0 + 10), GREY, 2)
    motion = normalize(panel.motion)
    for f in panel.video_peaks:  # motion peaks: dots on the motion curve
        cv2.circle(img, (int(round(px(f))), int(round(py(motion[f])))), 4, colour, -1, cv2.LINE_AA)
    _legend(img, x1 - 330, top + 8, colour)


def _legend(img: np.ndarray, x: int, y: int, colour: tuple[int, int, int]) -> None:
    items = (("audio onset strength", GREY, "line"), ("audio peaks", GREY, "tick"),
             ("visual motion", colour, "line"), ("motion peaks", colour, "dot"))
    for i, (label, col, kind) in enumerate(items):
        cx, cy = x + (i % 2) * 175, y + (i // 2) * 13
        if kind == "line":
            cv2.line(img, (cx, cy + 4), (cx + 18, cy + 4), col, 2)
        elif kind == "tick":
            cv2.line(img, (cx + 9, cy - 1), (cx + 9, cy + 9), col, 2)
        else:
            cv2.circle(img, (cx + 9, cy + 4), 4, col, -1, cv2.LINE_AA)
        cv2.putText(img, label, (cx + 24, cy + 8), FONT, 0.38, INK, 1, cv2.LINE_AA)


def render_plot(panels: list[Panel], fps: float, title: str = "") -> np.ndarray:
    """The chart as a BGR uint8 image (H, WIDTH, 3)."""
    if not panels:
        raise ValueError("render_plot needs at least one panel")
    head = 30 if title else 0
    img = np.full((head + PANEL_H * len(panels), WIDTH, 3), 255, np.uint8)
    if title:
        cv2.putText(img, title, (MARGIN_L, 22), FONT, 0.6, INK, 1, cv2.LINE_AA)
    for i, panel in enumerate(panels):
        _draw_panel(img, head + i * PANEL_H, panel, fps, COLOURS[i % len(COLOURS)])
    return img


def save_plot(path: str | Path, panels: list[Panel], fps: float, title: str = "") -> Path:
    """Draw and write the PNG; raises OSError when it cannot be written."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{path}: the plot is a PNG; give a path ending in .png")
    if not cv2.imwrite(str(path), render_plot(panels, fps, title)):
        raise OSError(f"{path}: could not write the plot (does the folder exist and is it writable?)")
    return path
