"""`LookMixer`: the style morph as a crossfade of looks; at rest exactly one look is drawn.

The VJ's crossfader, keys 1-9, MIDI knob and presets' style blends all end up as one weight per
look (`ControlState.style_weights`, in `look_names()` order). The mixer draws every look whose
weight is above `MIN_WEIGHT` and adds them with their weights renormalised, so a morph costs two
looks for its duration and a settled morph costs one (the smoothed weights approach 0 and 1
asymptotically; below the threshold a look contributes under 2 % and is skipped).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from synesthete.looks.base import Look, build_look
from synesthete.music_state import MusicState

MIN_WEIGHT = 0.02


class LookMixer:
    def __init__(self, names: Sequence[str], looks: Sequence[Look] | None = None,
                 device: torch.device | str = "cpu") -> None:
        self.names = tuple(names)
        if not self.names:
            raise ValueError("a LookMixer needs at least one look")
        self.looks = list(looks) if looks is not None else [build_look(n, device) for n in self.names]
        self.drawn: tuple[str, ...] = ()  # the looks the last frame drew (for the HUD)
        self._last: set[int] = set()  # indices drawn on the previous frame

    def reset(self) -> None:
        for look in self.looks:
            look.reset()
        self._last = set()

    def active(self, weights: np.ndarray) -> list[tuple[int, float]]:
        """(look index, weight) of the looks to draw, weights renormalised to sum 1."""
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.looks),):
            raise ValueError(f"expected {len(self.looks)} look weights ({', '.join(self.names)}), got shape {w.shape}")
        keep = [i for i in np.flatnonzero(w >= MIN_WEIGHT)] or [int(np.argmax(w))]
        total = float(w[keep].sum()) or 1.0
        return [(int(i), float(w[i]) / total) for i in keep]

    def draw(self, state: MusicState, weights: np.ndarray, height: int, width: int, reactivity: float = 1.0,
             features: torch.Tensor | None = None) -> torch.Tensor:
        """The crossfaded frame (3, height, width) float32 in [0, 1]."""
        active = self.active(weights)
        drawn = {i for i, _ in active}
        for i in drawn - self._last:  # re-entering after frames unseen: no stale history
            self.looks[i].reset()
        self._last = drawn
        out: torch.Tensor | None = None
        for i, w in active:
            frame = self.looks[i].draw(state, height, width, reactivity, features)
            if out is None:
                out = frame if w == 1.0 else frame.mul_(w)
            else:
                out.add_(frame, alpha=w)
        self.drawn = tuple(self.names[i] for i, _ in active)
        assert out is not None
        return out
