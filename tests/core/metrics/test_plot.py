"""The onset-vs-motion plot is drawn without matplotlib: panels, curves and peak marks land where expected."""

import cv2
import numpy as np
import pytest

from synesthete.metrics.plot import COLOURS, MARGIN_L, MARGIN_R, PANEL_H, WIDTH, Panel, render_plot, save_plot


def panel(peaks: list[int]) -> Panel:
    t = np.arange(120)
    motion = np.zeros(120)
    motion[peaks] = 1.0
    return Panel("test", np.sin(t / 5) ** 2, motion, np.array(peaks), np.array(peaks))


def test_one_panel_per_row_and_the_peak_dots_sit_at_their_times():
    img = render_plot([panel([30, 90]), panel([60])], fps=60, title="title")
    assert img.shape == (30 + 2 * PANEL_H, WIDTH, 3) and img.dtype == np.uint8
    # Panel 0's colour is present in the first panel only; panel 1's in the second only.
    first, second = img[30 : 30 + PANEL_H], img[30 + PANEL_H :]
    is_colour = lambda part, c: np.all(part == np.array(c, np.uint8), axis=-1)  # noqa: E731
    assert is_colour(first, COLOURS[0]).any() and not is_colour(second, COLOURS[0]).any()
    # The dot of the peak at frame 59 (instant 1.0 s of 2.0 s) is centred half-way across the axes.
    cols = np.nonzero(is_colour(second, COLOURS[1]).any(axis=0))[0]
    x_mid = MARGIN_L + (WIDTH - MARGIN_R - MARGIN_L) * (61 / 60) / 2
    assert np.any(np.abs(cols - x_mid) <= 3)


def test_save_plot_writes_a_png(tmp_path):
    path = save_plot(tmp_path / "p.png", [panel([10])], fps=60)
    assert cv2.imread(str(path)).shape == (PANEL_H, WIDTH, 3)
    with pytest.raises(ValueError, match="PNG"):
        save_plot(tmp_path / "p.jpg", [panel([10])], fps=60)
