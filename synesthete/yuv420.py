"""RGB frames to the yuv420p planes an h264 encoder takes, scaled plane by plane.

An encoder wants 4:2:0: full-size luma and chroma at half the width and height. A 1280x720 output
drawn at 640x360 therefore needs no chroma scaling at all (its chroma planes *are* 640x360) and
only luma enlarged 2x. Converting at the drawn size and scaling the planes costs ~0.7 ms of CPU a
720p frame, against ~4.9 ms for enlarging the RGB picture and then converting 921,600 pixels
(FFmpeg's swscale; docs/performance.md, "The yuv420p path"). Same pixels within rounding: the
conversion is linear, so Y of the enlarged picture is the enlarged Y; the chroma is the drawn
picture's own instead of a box average of its enlargement.

Colours: BT.601, limited range (Y 16-235, Cb/Cr 16-240), the matrix swscale applies to untagged
RGB, so files look as they did.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from synesthete.frame_size import scale_interpolation

# Rows: Y, Cb, Cr from R, G, B (0-255), then the offset. ITU-R BT.601, limited ("MPEG") range.
BT601_LIMITED = np.array([
    [0.256788, 0.504129, 0.097906, 16.0],
    [-0.148223, -0.290993, 0.439216, 128.0],
    [0.439216, -0.367788, -0.071427, 128.0],
], np.float32)


def yuv420_shape(width: int, height: int) -> tuple[int, int]:
    """(rows, width) of one yuv420p frame in one buffer: Y, then Cb, then Cr (each a quarter of Y)."""
    return height * 3 // 2, width


def planes(frame: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of Y (height, width), Cb and Cr (height/2, width/2) inside one (height*3/2, width) buffer."""
    flat = frame.reshape(-1)
    y_size, c_size = width * height, (width // 2) * (height // 2)
    return (flat[:y_size].reshape(height, width),
            flat[y_size : y_size + c_size].reshape(height // 2, width // 2),
            flat[y_size + c_size : y_size + 2 * c_size].reshape(height // 2, width // 2))


def rgb_to_yuv420(frames: Sequence[np.ndarray], width: int, height: int, out: np.ndarray | None = None) -> np.ndarray:
    """(N, h, w, 3) uint8 RGB, or N such pictures (any size, views allowed) -> (N, height*3/2, width) uint8 yuv420p.

    Converted at the frames' own size, then luma scaled to (width, height) and chroma to half that:
    bilinear when enlarging, pixel-area when shrinking (the live window's choice), a copy when the
    size already matches. `width` and `height` must be even.
    """
    import cv2

    if width % 2 or height % 2:
        raise ValueError(f"yuv420p needs an even width and height, got {width}x{height}")
    if out is None:
        out = np.empty((len(frames), *yuv420_shape(width, height)), np.uint8)
    for frame, dst in zip(frames, out):
        y, cb, cr = cv2.split(cv2.transform(frame, BT601_LIMITED))
        for src, plane in zip((y, cb, cr), planes(dst, width, height)):
            _scale_into(src, plane)
    return out


def _scale_into(src: np.ndarray, dst: np.ndarray) -> None:
    import cv2

    if src.shape == dst.shape:
        np.copyto(dst, src)
        return
    cv2.resize(src, (dst.shape[1], dst.shape[0]), dst=dst, interpolation=scale_interpolation(src.shape[1], dst.shape[1]))
