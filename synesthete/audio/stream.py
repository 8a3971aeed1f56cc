"""MusicStream: an endless piece, rendered a few bars at a time, read in blocks of any size.

The song (tempo, key, sounds, section plan) comes from the seed exactly as for `render_clip`.
Chunks of whole bars (at least ~2 s) are rendered with their complete tails (note releases,
echoes, reverb) and overlap-added into a pending buffer, so a tail that rings past a chunk's end
lands in the next chunk's time: no gaps, no clicks. Output is the mono mix through a stateless
soft limiter (|x| < 1 without a look-ahead, so the bytes do not depend on how the stream is read):
reading 1 sample at a time or 10 s at once gives identical audio.

`music_state(fps, first, n)` gives the exact state (`synesthete.music_state`) of what the stream
played, frame by frame, as far as it has rendered: the live demo source sends it over OSC while
no hearing model runs. It is computed from the last `STATE_HISTORY_S` seconds of events only, so
its cost does not grow with the length of the show.

`read(256)` is cheap on average (one chunk render every ~2 s of audio); the call that crosses into
a new chunk pays for it, so a live audio callback should read from a thread that keeps a buffer
ahead rather than call `read` itself.
"""

from __future__ import annotations

import math

import numpy as np

from synesthete.audio.engine import build_score, check_sample_rate, check_seed, make_song, render_span
from synesthete.audio.effects import soft_limit
from synesthete.audio.score import Score
from synesthete.constants import SAMPLE_RATE
from synesthete.music_state import BASS_RANGE, MELODY_RANGE, MusicState

CHUNK_SECONDS = 2.0
# Events this old no longer shape the state (the longest envelope is a held pad; energy settles in
# ~1 s), except the pitch of the last bass / lead note, which is carried over explicitly.
STATE_HISTORY_S = 16.0


class MusicStream:
    """`MusicStream(seed).read(n) -> float32 (n,)`, forever. `block_size` is the default `n`."""

    def __init__(self, seed: int, sample_rate: int = SAMPLE_RATE, block_size: int | None = None, **overrides: object):
        self.seed = check_seed(seed)
        self.sample_rate = check_sample_rate(sample_rate)
        if block_size is not None and (isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1):
            raise ValueError(f"block_size must be a positive integer number of samples or None, got {block_size!r}")
        self.block_size = block_size
        self.song = make_song(self.seed, **overrides)
        self.bars_per_chunk = max(1, math.ceil(CHUNK_SECONDS / self.song.bar_seconds))
        self._next_bar = 0
        self._pending = np.zeros(0, np.float32)  # rendered audio from sample `_pos` on (with tails)
        self._rendered_to = 0  # song sample up to which all bars are rendered (body ends)
        self._pos = 0  # song samples handed out so far
        self._events: list = []
        self._recent: list = []  # events still within STATE_HISTORY_S of the newest state asked for
        self._last_pitch: dict[str, tuple[float, int]] = {}  # bass/lead: (start, pitch) of the newest pruned note

    @property
    def position(self) -> int:
        """Samples read so far."""
        return self._pos

    def _render_next_chunk(self) -> None:
        lo, hi = self._next_bar, self._next_bar + self.bars_per_chunk
        span = render_span(self.song, lo, hi, self.sample_rate, stereo=False, tail_seconds=None)
        audio = span.audio[0]  # (n_body + tail,)
        i = span.start_sample - self._pos  # where this chunk starts in the pending buffer (>= 0)
        need = i + audio.shape[0]
        if need > self._pending.shape[0]:
            self._pending = np.concatenate([self._pending, np.zeros(need - self._pending.shape[0], np.float32)])
        self._pending[i:need] += audio
        self._rendered_to = span.start_sample + span.n_body
        self._next_bar = hi
        self._events.extend(span.events)
        self._recent.extend(span.events)

    def read(self, n: int | None = None) -> np.ndarray:
        """The next `n` samples (default `block_size`), float32 (n,) in (-1, 1)."""
        if n is None:
            if self.block_size is None:
                raise ValueError("read() needs a sample count: pass n or construct with block_size")
            n = self.block_size
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"read(n): n must be a non-negative integer number of samples, got {n!r}")
        n = int(n)
        while self._rendered_to < self._pos + n:  # beyond the last body end, tails are incomplete
            self._render_next_chunk()
        out = self._pending[:n].copy()
        self._pending = self._pending[n:]
        self._pos += n
        return soft_limit(out)

    def score_so_far(self) -> Score:
        """The score of everything read so far (times from the stream's start)."""
        duration = self._pos / self.sample_rate
        return build_score(self.song, self._events, 0.0, max(duration, 1e-9), self.sample_rate)

    @property
    def rendered_seconds(self) -> float:
        """Stream time up to which every event is known: states of instants up to it are final."""
        return self._rendered_to / self.sample_rate

    def state_frames_ready(self, fps: float) -> int:
        """How many frames' states are final: those whose instant lies before `rendered_seconds`
        (an event exactly at it belongs to the next chunk, not composed yet)."""
        return max(0, int(math.ceil(self.rendered_seconds * fps - 1e-6)) - 1)

    def music_state(self, fps: float, first: int, n: int) -> MusicState:
        """The exact state of stream frames first .. first + n - 1 (frame k: the instant (k + 1) / fps).

        Raises ValueError for frames past `rendered_seconds` (their events are not composed yet).
        Not thread-safe against `read`: call both from one thread.
        """
        if n < 1 or first < 0:
            raise ValueError(f"music_state needs first >= 0 and n >= 1, got first={first}, n={n}")
        if first + n > self.state_frames_ready(fps):
            raise ValueError(f"frames up to {(first + n) / fps:.3f} s asked, rendered to {self.rendered_seconds:.3f} s")
        # Start the computation STATE_HISTORY_S early, so envelopes and the energy smoother are
        # settled when the asked frames begin (the state of a frame depends on the past only).
        k0 = max(0, first - int(math.ceil(STATE_HISTORY_S * fps)))
        # The window starts on a beat (K) at or before frame k0, and ends two beats past the last
        # asked instant: the score's beat grid (from the song's own, possibly drifting, clock) then
        # has the marks around every asked frame, as the whole score's grid does.
        song = self.song
        beat_k = max(0, math.floor(song.beat_at(k0 / fps)))
        offset = max(0.0, float(song.beat_time(beat_k)))
        for e in self._recent:
            if e.time + e.duration < offset and e.stem in ("bass", "lead"):
                if e.time >= self._last_pitch.get(e.stem, (-1.0, 0))[0]:
                    self._last_pitch[e.stem] = (e.time, e.pitch)
        self._recent = [e for e in self._recent if e.time + e.duration >= offset]
        last = (first + n) / fps
        end = max(float(song.beat_time(math.ceil(song.beat_at(last)) + 2)), last + 0.5 / fps)
        score = build_score(song, self._recent, offset, end - offset, self.sample_rate)
        state = score.music_state(fps, first + n - k0, start_time=k0 / fps - offset).slice(first - k0, first + n - k0)
        state.time = state.time + np.float32(offset)
        state.beat_count = state.beat_count + np.float32(beat_k)  # the window counts from beat K
        # A bass or lead note that ended before the window still is "the last note started".
        for stem, field, (lo, hi) in (("bass", "bass", BASS_RANGE), ("lead", "melody", MELODY_RANGE)):
            if stem in self._last_pitch:
                starts = [e.time for e in self._recent if e.stem == stem]
                before = state.time < (min(starts) if starts else np.inf)
                value = np.float32(np.clip((self._last_pitch[stem][1] - lo) / (hi - lo), 0.0, 1.0))
                getattr(state, field)[before] = value
        return state
