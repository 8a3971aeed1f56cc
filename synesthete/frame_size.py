"""Picture sizes given as text (`1280x720`): the one parser every CLI and session log uses.

One rule set everywhere (`synesthete-render --size`, `synesthete-live --size/--render-size/
--record-size`, a session log's sizes): two integers WIDTHxHEIGHT, each side in
[MIN_SIDE, MAX_SIDE]. An mp4 needs even sides (h264 4:2:0); writers round an odd side down
(`even_size`), so a 1281x721 window records as 1280x720 rather than being refused.
"""

from __future__ import annotations

import argparse

MIN_SIDE = 16  # below this the optical-flow metrics and the post effects' kernels have no room
MAX_SIDE = 16384  # the largest texture GPUs and FFmpeg's h264 encoder take; far beyond any screen


class SizeError(argparse.ArgumentTypeError, ValueError):
    """A size that breaks the rules; argparse prints it as a usage error, other callers as ValueError."""


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720) (width, height); SizeError naming the rule otherwise."""
    parts = str(text).strip().lower().split("x")
    try:
        w, h = (int(v) for v in parts)
    except ValueError:
        raise SizeError(f"size must be WIDTHxHEIGHT, e.g. 1280x720; got {text!r}") from None
    check_size(w, h, text)
    return w, h


def check_size(width: int, height: int, text: str | None = None) -> tuple[int, int]:
    """(width, height) if both sides are in [MIN_SIDE, MAX_SIDE], else SizeError."""
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        shown = text if text is not None else f"{width}x{height}"
        raise SizeError(f"size {shown!r} is out of range ({MIN_SIDE}..{MAX_SIDE} pixels per side)")
    return width, height


def scale_interpolation(src_width: int, dst_width: int) -> int:
    """OpenCV's interpolation for scaling a picture `src_width` wide to `dst_width`: bilinear when
    enlarging (or keeping the width), pixel-area when shrinking (no aliasing). The live window's
    choice, and so that of everything that must show what it shows: the NDI sender, the render's
    fit to the output, the yuv420p planes."""
    import cv2  # here, not at the top: the CLIs parse sizes without loading OpenCV

    return cv2.INTER_LINEAR if dst_width >= src_width else cv2.INTER_AREA


def even_size(width: int, height: int) -> tuple[int, int]:
    """The size an mp4 is written at: each side rounded down to even (h264 yuv420p)."""
    return width - width % 2, height - height % 2
