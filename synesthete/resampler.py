"""Sample-rate conversion for every path in Synesthete: one streaming resampler, libsoxr's.

A file heard live (`synesthete-live --device file:X`), the same file rendered offline
(`synesthete-render X`) and the audio the live app plays out all change rate through this one
class, a thin wrapper of `soxr.ResampleStream` (python-soxr, the SoX resampler library). libsoxr's
streaming output does not depend on how the input is chunked (bit for bit; tested), so a file
fed block by block on the live pacing thread gives the very samples a whole-file decode gives.

Two qualities, both libsoxr's: "HQ" (the default; 20-bit, passband to 91% of Nyquist, no
delay: output sample k stands at k / out_rate) for what the model hears from a file, and "LQ"
for live capture and playback, where a steady flow matters more than the last bits. "LQ" runs
libsoxr's variable-rate engine (`vr=True`) at a fixed ratio, because the constant-rate engine hands
its output out in bursts: at 48 -> 24 kHz in 256-sample blocks, 470 samples every ~3.7 blocks at
"LQ" (830 every ~6.5 at "HQ"), nothing in between. A live loop fed that way can start a frame only
when a burst lands: 24000 / 470 = 51 frames a second at most, the rest arriving two at a time
(measured in a real X11 window: 51.07 fps and 14.9 % dropped, whatever the CPU load). The
variable-rate engine returns every block's samples at once (128 per 256 in), stopband -120 dB,
flat to 11.5 kHz at 24 kHz out, 2 output samples (83 us) late, its output as independent of the
chunking as the other's (tested). `process` withholds the filter's lookahead; `flush` returns it at
the end of a stream. Not thread-safe: one owner thread per instance.
"""

from __future__ import annotations

import numpy as np

QUALITIES = ("HQ", "LQ")


class Resampler:
    """Stream float32 audio from `in_rate` to `out_rate`: mono (n,) or channels-first (C, n)."""

    def __init__(self, in_rate: int, out_rate: int, channels: int = 1, quality: str = "HQ") -> None:
        import soxr

        if int(in_rate) <= 0 or int(out_rate) <= 0:
            raise ValueError(f"sample rates must be positive, got in={in_rate} out={out_rate}")
        if quality not in QUALITIES:
            raise ValueError(f"resampler quality must be one of {QUALITIES}, got {quality!r}")
        self.in_rate, self.out_rate, self.channels = int(in_rate), int(out_rate), int(channels)
        self.quality = quality
        self.passthrough = self.in_rate == self.out_rate
        self._mono = self.channels == 1  # the input's layout: (n,) or (C, n); outputs follow it
        self._soxr = soxr
        self._stream = None
        self._fed = self._made = 0  # samples in and out of this stream: what it holds back
        self._open()

    def _open(self) -> None:
        if not self.passthrough and self._stream is None:
            self._stream = self._soxr.ResampleStream(self.in_rate, self.out_rate, self.channels,
                                                     dtype="float32", quality=self.quality,
                                                     vr=self.quality == "LQ")

    def process(self, chunk: np.ndarray, last: bool = False) -> np.ndarray:
        """Feed `chunk` at in_rate; return every output sample now computable (all of them if `last`)."""
        chunk = np.asarray(chunk, dtype=np.float32)
        mono = self._mono = chunk.ndim == 1
        if self.passthrough:
            return chunk.copy()
        self._open()
        # soxr takes (n, C) frames; our audio is channels-first.
        frames = chunk[:, None] if mono else chunk.T
        out = self._stream.resample_chunk(np.ascontiguousarray(frames), last=last)  # (m, C)
        self._fed += frames.shape[0]
        self._made += out.shape[0]
        return out[:, 0].copy() if mono else np.ascontiguousarray(out.T)

    def flush(self) -> np.ndarray:
        """The samples still held back at the end of the stream (the filter's tail)."""
        empty = np.zeros(0 if self._mono else (self.channels, 0), np.float32)  # shaped as the input was
        return self.process(empty, last=True)

    @property
    def held_s(self) -> float:
        """Seconds of output the filter holds back right now: the newest output sample stands this
        much before the newest input sample (a capture time stamp moves back by it)."""
        # Counted, not libsoxr's `delay()`: the variable-rate engine reports less than it holds.
        return 0.0 if self._stream is None else max(0.0, self._fed / self.in_rate - self._made / self.out_rate)

    def reset(self) -> None:
        """Start a new stream (nothing before it)."""
        if self._stream is not None:
            self._stream.clear()
        self._fed = self._made = 0

    def close(self) -> None:
        """Free libsoxr's state now (a later `process` starts a new stream). Owners call it when
        they stop: a stream still alive when Python exits is reported as a leak by its binding."""
        self._stream = None
        self._fed = self._made = 0


def resample(audio: np.ndarray, in_rate: int, out_rate: int, quality: str = "HQ") -> np.ndarray:
    """A whole signal at once (mono (n,) or (C, n)): exactly what streaming it through `Resampler` gives."""
    audio = np.asarray(audio, dtype=np.float32)
    r = Resampler(in_rate, out_rate, 1 if audio.ndim == 1 else audio.shape[0], quality)
    head = r.process(audio)
    if r.passthrough:
        return head
    return np.concatenate([head, r.flush()], axis=-1)
