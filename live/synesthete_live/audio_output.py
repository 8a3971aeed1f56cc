"""Playing audio out: the demo/file programme and the MIDI synth, mixed, on the output device.

A VJ running the demo or a file wants to hear it, and a keyboard player must hear the synth they
play. `AudioOutput` takes mono blocks at the model rate from producer threads, one *lane* per
producer ("program" for a paced source, "synth" for the synth), resamples each to the device rate
(`synesthete.resampler`, libsoxr) and queues it in that lane's `RingBuffer`. The output callback
only pulls from the lanes into a preallocated scratch array and sums them (no allocation, no lock, no logging). Each lane is a
small jitter buffer: it starts playing once `prefill_s` of audio is queued and goes back to
waiting (counting an underrun) when it runs dry, so bursty writers (one write per display frame)
play smoothly. Latency is bounded by the lane capacity: a writer that runs ahead of the device
clock loses its oldest audio (drop-oldest), never delays the rest.

Thread safety: each lane is single-producer (one writer thread, by convention one per lane) /
single-consumer (the callback), see `RingBuffer`. `write` to one lane from two threads is not safe.
"""

from __future__ import annotations

import numpy as np

from synesthete.constants import BLOCK_SIZE
from synesthete.resampler import Resampler

from .devices import (AudioDeviceError, KeptStream, default_output_index, device_name, negotiate_rate,
                      sounddevice)
from .ring_buffer import RingBuffer


class _Lane:
    def __init__(self, capacity: int, in_rate: int, out_rate: int, prefill: int) -> None:
        self.ring = RingBuffer(capacity)
        # libsoxr's low-latency quality: what the VJ hears should lag the picture by as little
        # as possible (4 ms held back against 34 ms for "HQ"; the model never hears this path).
        self.resampler = Resampler(in_rate, out_rate, quality="LQ")
        self.prefill = prefill
        self.playing = False  # callback-owned


class AudioOutput:
    """Mono lanes at `sample_rate`, mixed and played on `device` (default output when None)."""

    def __init__(self, sample_rate: int, device: int | str | None = None, block_size: int = BLOCK_SIZE,
                 latency: str | float = "low", lanes: tuple[str, ...] = ("program", "synth"),
                 prefill_s: float = 0.035, capacity_s: float = 0.15) -> None:
        sd = sounddevice()
        idx = default_output_index() if device is None else device
        if isinstance(idx, str):
            names = [d["name"] for d in sd.query_devices()]
            hits = [i for i, n in enumerate(names) if idx.lower() in n.lower()]
            if not hits:
                raise AudioDeviceError(f"no output device name contains {idx!r}; devices: {names}")
            idx = hits[0]
        if idx is None or idx < 0:
            raise AudioDeviceError("there is no output device to play to")
        info = sd.query_devices(idx)
        if info["max_output_channels"] < 1:
            raise AudioDeviceError(f"device {idx} ({info['name']}) has no outputs")
        self.index = int(idx)
        self.name = device_name(self.index)
        self.channels = min(2, int(info["max_output_channels"]))
        self.sample_rate = int(sample_rate)
        self.device_rate = negotiate_rate(self.index, self.sample_rate, self.channels, kind="output")
        self.block_size, self.latency = int(block_size), latency
        prefill = int(prefill_s * self.device_rate)
        cap = max(int(capacity_s * self.device_rate), 2 * prefill + 4 * self.block_size)
        self._lanes = {name: _Lane(cap, self.sample_rate, self.device_rate, prefill) for name in lanes}
        self._lane_list = list(self._lanes.values())
        self._scratch = np.zeros(max(8192, 4 * self.block_size), dtype=np.float32)  # (max block,)
        self._callbacks = 0
        self.underruns = 0
        self._keeper = KeptStream(self._open, lambda: self._callbacks)

    # ------------------------------------------------------------------ stream
    def _open(self):
        sd = sounddevice()
        return sd.OutputStream(device=self.index, channels=self.channels, samplerate=self.device_rate,
                               blocksize=self.block_size, dtype="float32", latency=self.latency,
                               callback=self._callback)

    def _callback(self, outdata, frames, time_info, status) -> None:
        self._callbacks += 1
        mix = outdata[:, 0]
        mix.fill(0.0)
        scratch = self._scratch[:frames]
        for lane in self._lane_list:
            if not lane.playing:
                if lane.ring.available() < lane.prefill:
                    continue
                lane.playing = True
            k = lane.ring.read_into(scratch)
            mix[:k] += scratch[:k]
            if k < frames:  # ran dry: wait for a fresh prefill rather than stutter
                lane.playing = False
                self.underruns += 1
        if self.channels > 1:
            outdata[:, 1:] = outdata[:, :1]

    def start(self) -> "AudioOutput":
        self._keeper.start()
        return self

    def stop(self) -> None:
        self._keeper.stop()
        for lane in self._lane_list:
            lane.resampler.close()  # libsoxr's state goes now, not at interpreter exit

    @property
    def lost(self) -> bool:
        return self._keeper.lost

    # ------------------------------------------------------------------ producer side
    def write(self, lane: str, block: np.ndarray) -> None:
        """Queue a mono block at `sample_rate` on `lane` (one writer thread per lane)."""
        if lane not in self._lanes:
            raise ValueError(f"unknown output lane {lane!r}; lanes: {sorted(self._lanes)}")
        ln = self._lanes[lane]
        out = ln.resampler.process(block)
        if out.size:
            ln.ring.write(out, 0.0)

    def queued_s(self, lane: str) -> float:
        return self._lanes[lane].ring.available() / self.device_rate


def open_output(sample_rate: int, block_size: int = BLOCK_SIZE, latency: str | float = "low") -> AudioOutput | None:
    """The default output started, or None when this machine cannot play audio (headless)."""
    try:
        if default_output_index() < 0:
            return None
        return AudioOutput(sample_rate, block_size=block_size, latency=latency).start()
    except Exception:  # no output is not an error for a visual app: it simply stays silent
        return None
