"""Live capture from a real input device (mic, line in, loopback) and `open_source`, the one entry point.

`DeviceSource` opens a PortAudio input stream through sounddevice. Its callback does exactly two
things: stamp the capture time and copy the block into a preallocated `RingBuffer` (no
allocation, no lock, no logging, no torch). The capture time is PortAudio's
`inputBufferAdcTime` moved onto the `time.perf_counter()` clock (perf_counter at callback entry
minus `currentTime - inputBufferAdcTime`) plus the block's duration, i.e. the instant the
block's NEWEST sample hit the converter; host APIs that report no ADC time (0) fall back to
perf_counter at callback entry. On the consumer side `read()` downmixes to mono, resamples to the
model rate and mixes in the synth. The device rate is negotiated: the model rate if the device
takes it (no resampling), else the device's default rate. A device that disappears is reported
in `status` ("device lost, retrying…"), `read()` yields silence paced by the wall clock, and a
watchdog (`devices.KeptStream`) reopens it; nothing raises into the render loop.
"""

from __future__ import annotations

import time

import numpy as np

from synesthete.constants import BLOCK_SIZE
from synesthete.resampler import Resampler

from .devices import (AudioDeviceError, KeptStream, default_source_spec, device_name, find_input_device,
                      negotiate_rate, sounddevice)
from .ring_buffer import RingBuffer
from .sources import AudioSource, DemoSource, FileSource

LOST_STATUS = "device lost, retrying…"


class DeviceSource(AudioSource):
    """Capture from PortAudio device `index`; `read()` returns mono audio at `sample_rate`."""

    def __init__(self, index: int, sample_rate: int, block_size: int = BLOCK_SIZE, latency: str | float = "low",
                 play_out: bool = True, buffer_s: float = 2.0) -> None:
        sd = sounddevice()
        info = sd.query_devices(index)
        if info["max_input_channels"] < 1:
            raise AudioDeviceError(f"device {index} ({info['name']}) has no inputs")
        self.index = int(index)
        # Two channels at most: a stereo line feed is downmixed; more is a multitrack interface
        # whose first pair is the usual main input.
        self.channels = min(2, int(info["max_input_channels"]))
        rate = negotiate_rate(self.index, sample_rate, self.channels)
        # The device itself is never played back (feedback); play_out only concerns the synth.
        super().__init__(device_name(self.index), sample_rate, rate, play_out)
        self.block_size = int(block_size)
        self.latency = latency
        self._ring = RingBuffer(int(buffer_s * rate), self.channels)
        # libsoxr's low-latency quality (synesthete.resampler): capture latency is the show's latency.
        self._resampler = Resampler(rate, sample_rate, quality="LQ")
        self._keeper = KeptStream(self._open, lambda: self._ring.frames_written)
        self._inv_rate = 1.0 / rate
        self._last_read = time.perf_counter()
        self.callback_flags = 0  # callbacks that reported an input overflow/underflow

    def _open(self):
        sd = sounddevice()
        return sd.InputStream(device=self.index, channels=self.channels, samplerate=self.device_rate,
                              blocksize=self.block_size, dtype="float32", latency=self.latency,
                              callback=self._callback)

    def _callback(self, indata: np.ndarray, frames: int, time_info, status) -> None:
        now = time.perf_counter()
        adc, cur = time_info.inputBufferAdcTime, time_info.currentTime
        if adc > 0.0 and 0.0 <= cur - adc < 1.0:
            now = now - (cur - adc) + (frames - 1) * self._inv_rate
        if status:
            self.callback_flags += 1
        self._ring.write(indata, now)

    def _start(self) -> None:
        self._ring.clear()
        self._resampler.reset()
        self._last_read = time.perf_counter()
        try:
            self._keeper.start()
        except Exception as e:  # PortAudioError and friends: say which device and rate
            raise AudioDeviceError(f"cannot open input {self.index} ({self.name}) at {self.device_rate} Hz, "
                                   f"{self.channels} channel(s): {e}") from e

    def _stop(self) -> None:
        self._keeper.stop()
        self._resampler.close()  # libsoxr's state goes now, not at interpreter exit

    def _read_raw(self) -> tuple[np.ndarray, float | None]:
        now = time.perf_counter()
        elapsed, self._last_read = now - self._last_read, now
        if self._keeper.lost:
            self._ring.clear()
            # Silence for the time that passed, so the visuals keep their clock and decay calmly.
            n = int(min(elapsed, 0.25) * self.sample_rate)
            return np.zeros(n, dtype=np.float32), now
        raw, t = self._ring.read_new()  # (n_device,) mono
        out = self._resampler.process(raw)
        # The newest resampled sample is older than the newest captured one by what the filter holds.
        return out, (None if t is None else t - self._resampler.held_s)

    def _status(self) -> str:
        return LOST_STATUS if self._running and self._keeper.lost else ""

    @property
    def overruns(self) -> int:
        return self._ring.overruns

    @property
    def reopened(self) -> int:
        """How many times the watchdog brought a lost device back."""
        return self._keeper.reopened


def open_source(spec: str, sample_rate: int, block_size: int = BLOCK_SIZE, latency: str | float = "low",
                play_out: bool = True) -> AudioSource:
    """Make (not start) the source named by `spec`.

    "mic" (default input), "3" (device index), "Scarlett" (name substring), "loopback" (a
    PulseAudio/PipeWire monitor input), "demo" (procedural music), "file:PATH" (decoded, looped).
    `sample_rate` is the model's; `play_out` plays demo/file audio and the synth on the default
    output when there is one (a capture device itself is never played back).
    """
    text = (spec or "").strip()
    if text in ("", "auto"):
        text = default_source_spec()
    if text == "demo":
        return DemoSource(sample_rate, block_size=block_size, play_out=play_out)
    if text.startswith("file:"):
        path = text[len("file:"):]
        if not path:
            raise ValueError("file source needs a path: --source file:PATH")
        return FileSource(path, sample_rate, block_size=block_size, play_out=play_out)
    index = find_input_device(text)
    return DeviceSource(index, sample_rate, block_size=block_size, latency=latency, play_out=play_out)
