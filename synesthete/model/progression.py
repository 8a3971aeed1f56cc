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
  that equal the reading P bars before them (n readings kept, at most `HISTORY`; at least one such
  pair); the best period at or above `agreement` (the shorter on a tie) names the coming bar's
  root;
* for the first `window` frames of the bar that root is the output, then the head's.

The readings come from the head's roots, never from this memory's own output. State: two CPU
tensors, never changed in place, so stepping a clip frame by frame equals running it whole
(tests/core/model/test_progression.py).
"""

from __future__ import annotations

import numpy as np
import torch

PERIODS = (2, 4, 8)  # bars
HISTORY = 16  # readings kept: two cycles of the longest period


# The columns of the integer state, one row per stream: 1 once a frame was seen, frames since the
# bar line, the predicted root (-1: none), how many readings; then the votes and the readings.
_SEEN, _SINCE, _PRED, _COUNT = 0, 1, 2, 3
_VOTES = slice(4, 4 + 12)  # the head's roots counted over this bar's second half
_READ = slice(_VOTES.stop, _VOTES.stop + HISTORY)  # the last HISTORY bars' readings, oldest first (-1: none)
_WIDTH = _READ.stop


class ProgressionMemory:
    def __init__(self, fps: float, window_s: float, agreement: float) -> None:
        self.window = int(round(window_s * fps))  # frames of a bar that take the predicted root
        self.agreement = float(agreement)

    def init_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        """(the previous frame's bar phase (B,) float64, the integer state (B, 32): the columns
        above). Two tensors, so a live frame converts two, not seven."""
        ints = torch.zeros(batch, _WIDTH, dtype=torch.int64)
        ints[:, _PRED] = -1
        ints[:, _READ] = -1
        return torch.zeros(batch, dtype=torch.float64), ints

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

    def _bar_line(self, row: np.ndarray) -> None:
        """One stream's bar line, in place on its row: close the bar's reading, predict the next."""
        votes = row[_VOTES]
        read = row[_READ]
        read[:-1] = read[1:]
        read[-1] = votes.argmax() if votes.any() else -1
        row[_COUNT] += 1
        votes[:] = 0
        row[_SINCE] = 0
        row[_PRED] = self._predict(read, int(row[_COUNT]))

    def run(self, root: np.ndarray, bar_phase: np.ndarray, state: tuple[torch.Tensor, ...],
            ) -> tuple[np.ndarray, tuple[torch.Tensor, ...]]:
        """root (B, T) int (the head's argmax), bar_phase (B, T) -> (the root to show (B, T) int64,
        state after the last frame)."""
        prev = state[0].numpy().copy()
        ints = state[1].numpy().copy()
        out = np.array(root, np.int64)  # a copy: the head's roots stay as they were
        for t in range(out.shape[1]):
            for b in range(out.shape[0]):  # per stream: Python scalars cost less than (1,) arrays
                row = ints[b]
                phase = float(bar_phase[b, t])
                if row[_SEEN] and phase - prev[b] < -0.5:  # the bar phase wrapped: a bar line
                    self._bar_line(row)
                if phase >= 0.5:
                    row[_VOTES.start + out[b, t]] += 1  # the head's own root, before any prediction
                if row[_PRED] >= 0 and row[_SINCE] < self.window:
                    out[b, t] = row[_PRED]
                row[_SINCE] += 1
                row[_SEEN] = 1
                prev[b] = phase
        return out, (torch.from_numpy(prev), torch.from_numpy(ints))
