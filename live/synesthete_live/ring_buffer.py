"""A preallocated audio ring buffer between a real-time callback and one consumer thread.

The sounddevice callback must return within a fraction of a block, so it may only copy samples
somewhere and stamp the time. This buffer is that somewhere: one producer (the audio callback)
`write`s blocks, one consumer (the inference thread) `read_new`s everything that arrived since
its previous read. When the consumer falls behind by more than `capacity` frames the oldest
frames are overwritten (a live show prefers fresh audio to complete audio) and counted in
`overruns`.

Thread safety, exactly: safe for ONE producer thread and ONE consumer thread at a time, without
any lock. The producer owns two monotonically growing frame counters, `_started` (bumped before
it copies a block in) and the published `(_done, capture_time)` tuple (replaced after the copy);
the consumer owns `_read_pos`. Each counter has a single writer and Python attribute stores and
loads are atomic (the GIL orders them), so the consumer always sees a consistent pair of
"frames fully written" and "their newest capture time". Because the producer never waits for the
consumer, it may overwrite slots the consumer is copying; the consumer detects that afterwards
(seqlock style) by re-reading `_started` and discarding any frame whose slot the producer may
have reused, counting it as an overrun. Two producers, or two consumers, are NOT safe.
`write` does no numpy allocation (slice assignment into the preallocated array), takes no lock,
and does not log, so it is callback-safe. `read_new` allocates its result (it runs off the
callback).
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Fixed-capacity float32 ring of `channels`-channel frames; reads come back mono."""

    def __init__(self, capacity: int, channels: int = 1) -> None:
        if int(capacity) < 1:
            raise ValueError(f"RingBuffer capacity must be a positive number of frames, got {capacity}")
        if int(channels) < 1:
            raise ValueError(f"RingBuffer channels must be >= 1, got {channels}")
        self.capacity = int(capacity)
        self.channels = int(channels)
        self._data = np.zeros((self.capacity, self.channels), dtype=np.float32)  # (capacity, ch)
        self._started = 0  # frames the producer has begun writing (producer-owned)
        self._published: tuple[int, float | None] = (0, None)  # (frames done, newest capture time)
        self._read_pos = 0  # frames consumed or skipped (consumer-owned)
        self._overruns = 0  # frames lost to overwrite or max_frames skipping (consumer-owned)

    # ---------------------------------------------------------------- producer side (callback)
    def write(self, block: np.ndarray, capture_time: float) -> None:
        """Append `block` ((n,) or (n, channels) float32); `capture_time` is its newest sample's time.

        Callback-safe: no allocation of sample memory, no lock, no logging. A block longer than
        the capacity keeps only its newest `capacity` frames.
        """
        n = block.shape[0]
        if block.ndim == 2 and block.shape[1] != self.channels:
            raise ValueError(f"block has {block.shape[1]} channels, this RingBuffer holds {self.channels}")
        if n == 0:
            return
        cap = self.capacity
        start = self._published[0]
        self._started = start + n  # announce first: the consumer must distrust these slots now
        src = block
        pos = start
        if n > cap:  # only the newest `cap` frames can survive anyway
            src = block[n - cap :]
            pos = start + n - cap
        m = src.shape[0]
        i = pos % cap
        first = min(m, cap - i)
        dst = self._data
        if src.ndim == 1:  # mono block into every channel column (broadcast, no temporary)
            dst[i : i + first] = src[:first, None]
            if first < m:
                dst[: m - first] = src[first:, None]
        else:
            dst[i : i + first] = src[:first]
            if first < m:
                dst[: m - first] = src[first:]
        self._published = (start + n, float(capture_time))

    # ---------------------------------------------------------------- consumer side
    def available(self) -> int:
        """Frames written since the previous read, capped at the capacity (what a read would get)."""
        done = self._published[0]
        return min(done - self._read_pos, self.capacity)

    @property
    def overruns(self) -> int:
        """Frames dropped because the consumer fell behind (counted when the consumer reads)."""
        return self._overruns

    @property
    def frames_written(self) -> int:
        """Total frames ever written (diagnostics; e.g. to tell a live callback from a dead one)."""
        return self._published[0]

    def _claim(self, max_frames: int | None) -> tuple[int, int, float | None]:
        """Positions [lo, hi) the consumer should copy now, and the capture time of frame hi-1."""
        hi, t = self._published
        lo = max(self._read_pos, hi - self.capacity)
        if max_frames is not None:
            lo = max(lo, hi - max(0, int(max_frames)))
        return lo, hi, t

    def _copy(self, lo: int, hi: int, out: np.ndarray) -> None:
        cap = self.capacity
        m = hi - lo
        i = lo % cap
        first = min(m, cap - i)
        if self.channels == 1:
            out[:first] = self._data[i : i + first, 0]
            out[first:m] = self._data[: m - first, 0]
        else:  # downmix to mono while copying out
            np.mean(self._data[i : i + first], axis=1, out=out[:first])
            if first < m:
                np.mean(self._data[: m - first], axis=1, out=out[first:m])

    def _settle(self, lo: int, hi: int) -> int:
        """After copying [lo, hi): first position still valid (the producer may have lapped us)."""
        # Slots of positions < started - capacity may have been rewritten while we copied.
        valid_from = max(lo, min(hi, self._started - self.capacity))
        self._overruns += valid_from - self._read_pos
        self._read_pos = hi
        return valid_from

    def read_new(self, max_frames: int | None = None) -> tuple[np.ndarray, float | None]:
        """Everything written since the previous read, as a mono float32 copy, and its newest time.

        With `max_frames`, only the newest `max_frames` frames come back and the older unread
        ones count as overruns. The time is the capture time of the newest frame ever written
        (None before the first write), so a read that finds nothing new still says how fresh
        the audio is.
        """
        lo, hi, t = self._claim(max_frames)
        out = np.empty(hi - lo, dtype=np.float32)  # (n,)
        self._copy(lo, hi, out)
        valid_from = self._settle(lo, hi)
        return out[valid_from - lo :], t

    def read_into(self, out: np.ndarray) -> int:
        """Callback-safe read for an output stream: fill `out[:k]` with the OLDEST unread frames.

        Returns k (<= len(out)); no allocation. Frames beyond `len(out)` stay for the next call
        (an output device must play every frame in order, unlike the analysis consumer).
        """
        hi, _ = self._published
        lo = max(self._read_pos, hi - self.capacity)
        hi = min(hi, lo + out.shape[0])
        self._copy(lo, hi, out)
        valid_from = max(lo, min(hi, self._started - self.capacity))
        self._overruns += valid_from - self._read_pos
        self._read_pos = hi
        k = hi - valid_from
        if valid_from > lo:  # shift the surviving frames to the front
            out[:k] = out[valid_from - lo : hi - lo]
        return k

    def clear(self) -> None:
        """Consumer side: forget everything unread (not counted as overruns)."""
        self._read_pos = self._published[0]
