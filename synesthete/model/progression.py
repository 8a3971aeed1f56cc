"""The chord progression's repeat as the root of a bar's first moments (causal, numpy, per stream).

Songs cycle through a chord progression: the root of bar k is, most of the time, the root of bar
k - P for a period P of 2, 4 or 8 bars. The chord head hears a new chord only after its chroma
window has filled with it, 10-25 frames after the bar line, and nearly half of its wrong frames lie
in the half second after a change (docs/training.md, "The chord root: where the error is"). This
memory keeps the root the head read in each past bar and, where the recent bars repeat with a
period, names the coming bar's root from the bar one period back for the bar's first `window`
frames; after them the head's own root stands again.

Per frame, causally, from the head's root and the tracker's bar phase:

* a bar line is where the bar phase wraps (falls by more than half a bar);
* a bar's reading is the root the head named most often over the bar's second half
  (bar phase >= 0.5, where the chord has long been heard), fixed when the bar ends;
* at a bar line, each period P in `PERIODS` scores the share of the last min(2P, n - P) readings
  that equal the reading P bars before them (n readings kept, at least one such pair); the best
  period at or above `agreement` (the shorter on a tie) names the coming bar's root;
* for the first `window` frames of the bar that root is the output, then the head's.

The readings come from the head's roots, never from this memory's own output. State: CPU tensors,
never changed in place, so stepping a clip frame by frame equals running it whole
(tests/core/model/test_progression.py).
"""

from __future__ import annotations

import numpy as np
import torch

PERIODS = (2, 4, 8)  # bars
HISTORY = 16  # readings kept: two cycles of the longest period


class ProgressionMemory:
    def __init__(self, fps: float, window_s: float, agreement: float) -> None:
        self.window = int(round(window_s * fps))  # frames of a bar that take the predicted root
        self.agreement = float(agreement)

    def init_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        """(previous bar phase, 1 once a frame was seen, frames since the bar line, the predicted
        root or -1) (B,) each, root votes of this bar (B, 12), readings (B, HISTORY) oldest first
        (-1: none), how many readings (B,)."""
        return (torch.zeros(batch, dtype=torch.float64), torch.zeros(batch, dtype=torch.float64),
                torch.zeros(batch, dtype=torch.int64), torch.full((batch,), -1, dtype=torch.int64),
                torch.zeros(batch, 12, dtype=torch.int64), torch.full((batch, HISTORY), -1, dtype=torch.int64),
                torch.zeros(batch, dtype=torch.int64))

    def _predict(self, readings: np.ndarray, n: int) -> int:
        """The coming bar's root from one stream's readings (oldest first, the last n valid), or -1."""
        r = readings[HISTORY - min(n, HISTORY):]
        best, root = -1.0, -1
        for p in PERIODS:
            pairs = min(2 * p, len(r) - p)
            if pairs < 1:
                continue
            now, before = r[len(r) - pairs:], r[len(r) - pairs - p: len(r) - p]
            share = float(np.mean((now == before) & (now >= 0)))
            if share >= self.agreement and share > best:
                best, root = share, int(r[len(r) - p])
        return root

    def run(self, root: np.ndarray, bar_phase: np.ndarray, state: tuple[torch.Tensor, ...],
            ) -> tuple[np.ndarray, tuple[torch.Tensor, ...]]:
        """root (B, T) int (the head's argmax), bar_phase (B, T) -> (the root to show (B, T) int64,
        state after the last frame)."""
        prev, seen, since, pred, votes, readings, n = (t.numpy().copy() for t in state)
        out = np.asarray(root, np.int64).copy()
        rows = np.arange(out.shape[0])
        for t in range(out.shape[1]):
            phase = bar_phase[:, t]
            wrapped = ((phase - prev) < -0.5) & (seen > 0)
            for b in np.flatnonzero(wrapped):  # a bar line: close the bar's reading, predict the next
                readings[b, :-1] = readings[b, 1:]
                readings[b, -1] = votes[b].argmax() if votes[b].any() else -1
                n[b] += 1
                votes[b] = 0
                since[b] = 0
                pred[b] = self._predict(readings[b], int(n[b]))
            late = phase >= 0.5
            votes[rows[late], out[late, t]] += 1  # the head's own root, before any prediction
            use = (pred >= 0) & (since < self.window)
            out[use, t] = pred[use]
            since += 1
            prev, seen = phase.astype(np.float64), np.ones_like(seen)
        new = (prev, seen, since, pred, votes, readings, n)
        return out, tuple(torch.from_numpy(np.ascontiguousarray(x)) for x in new)
