"""Audio sources for the live loop: the common `AudioSource` interface and the paced sources.

The live loop does not care where sound comes from: once per display frame it calls
`source.read()` and gets every new sample at the model's rate plus the capture time of the newest
one. A microphone or line input (`audio_input.DeviceSource`) is one source; the procedural demo
music (`DemoSource`) and an audio file (`FileSource`) are the others. Those two have no clock of
their own, so a pacing thread releases one block every `block_size / sample_rate` seconds on an
absolute schedule (no drift), stamping each block with the instant it "happened", and plays the
same audio on the output device so the VJ hears what the visuals react to. A MIDI `Synth`
attached with `attach_synth` is rendered in `read()` (on the consumer thread), mixed into what
the model hears, and played out on the output's "synth" lane (this is the synth's output path).

Thread safety: `read`, `level`, `status` are for the one consumer thread; `start`/`stop` from the
thread that owns the source. The pacing thread is the single producer of the source's ring buffer
and of the output's "program" lane; the consumer is the single producer of the "synth" lane.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path
from typing import Callable

import numpy as np

from synesthete.audio_file import downmix
from synesthete.constants import BLOCK_SIZE
from synesthete.resampler import Resampler

from synesthete.constants import FPS
from synesthete.music_state import MusicState

from .audio_output import AudioOutput, open_output
from .ring_buffer import RingBuffer

SILENCE_RMS = 1e-4  # about -80 dBFS: below this for a second the HUD says "no signal"
NO_SIGNAL_AFTER_S = 1.0
LEVEL_TIME_CONSTANT_S = 0.1


class AudioSource:
    """Base: subclasses implement `_start`, `_stop`, `_read_raw`; the rest is shared."""

    def __init__(self, name: str, sample_rate: int, device_rate: int, play_out: bool = True) -> None:
        self.name = name
        self.sample_rate = int(sample_rate)
        self.device_rate = int(device_rate)
        self.play_out = play_out
        self.output: AudioOutput | None = None
        self.synth = None
        self._level_ms = 0.0  # smoothed mean square
        self._last_signal = time.perf_counter()
        self._running = False

    # -------------------------------------------------------------- lifecycle
    def start(self) -> "AudioSource":
        if self._running:
            return self
        # Output first, so the pacing thread's very first block is heard too.
        if self.play_out and (self._wants_output() or self.synth is not None):
            self._ensure_output()
        try:
            self._start()
        except Exception:
            if self.output is not None:
                self.output.stop()
                self.output = None
            raise
        self._running = True
        self._last_signal = time.perf_counter()
        return self

    def stop(self) -> None:
        """Stop capture/pacing and playback. Idempotent."""
        if not self._running:
            return
        self._running = False
        self._stop()
        if self.output is not None:
            self.output.stop()
            self.output = None

    def __enter__(self) -> "AudioSource":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _ensure_output(self) -> None:
        if self.output is None:
            self.output = open_output(self.sample_rate)

    def attach_synth(self, synth) -> None:
        """Mix `synth` (a `Synth` at this source's sample rate) into `read()` and play it out."""
        if synth is not None and synth.sample_rate != self.sample_rate:
            raise ValueError(f"synth runs at {synth.sample_rate} Hz, this source at {self.sample_rate} Hz")
        self.synth = synth
        if synth is not None and self._running and self.play_out:
            self._ensure_output()

    # -------------------------------------------------------------- reading
    def read(self) -> tuple[np.ndarray, float | None]:
        """Every new sample since the last call, (n,) float32 at the model rate, + newest capture time.

        Non-blocking; never raises for device trouble (a lost device yields silence, see `status`).
        """
        audio, t = self._read_raw()
        if self.synth is not None and audio.size:
            voice = self.synth.render(audio.size)  # (n,)
            audio = audio + voice
            if self.output is not None:
                self.output.write("synth", voice)
        self._update_level(audio)
        return audio, t

    def _update_level(self, audio: np.ndarray) -> None:
        if not audio.size:
            return
        ms = float(np.mean(np.square(audio, dtype=np.float64)))
        a = 1.0 - np.exp(-audio.size / (LEVEL_TIME_CONSTANT_S * self.sample_rate))
        self._level_ms += a * (ms - self._level_ms)
        if ms > SILENCE_RMS**2:
            self._last_signal = time.perf_counter()

    @property
    def level(self) -> float:
        """Recent RMS (about the last 100 ms) of what `read` returned, clipped to 0..1."""
        return float(min(1.0, np.sqrt(max(self._level_ms, 0.0))))

    @property
    def status(self) -> str:
        """Short HUD text: "ok", "no signal", "device lost, retrying…", "ended", "stopped"."""
        special = self._status()
        if special:
            return special
        if not self._running:
            return "stopped"
        if time.perf_counter() - self._last_signal > NO_SIGNAL_AFTER_S:
            return "no signal"
        return "ok"

    @property
    def overruns(self) -> int:
        return 0

    def music_state_at(self, capture_time: float | None) -> "MusicState | None":
        """The known music state of the frame whose newest sample was captured at `capture_time`
        (a perf_counter time), for sources that know what they play (the demo); else None."""
        return None

    # -------------------------------------------------------------- subclass hooks
    def _wants_output(self) -> bool:
        return False

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError

    def _read_raw(self) -> tuple[np.ndarray, float | None]:
        raise NotImplementedError

    def _status(self) -> str:
        return ""


class PacedSource(AudioSource):
    """A source without a clock of its own, released in real time by a pacing thread.

    `generate(n)` must return exactly n float32 samples at the model rate, or None when the
    material has ended (the source then reports "ended" and reads return nothing new).
    """

    def __init__(self, name: str, sample_rate: int, generate: Callable[[int], np.ndarray | None],
                 block_size: int = BLOCK_SIZE, play_out: bool = True, device_rate: int | None = None,
                 buffer_s: float = 2.0) -> None:
        super().__init__(name, sample_rate, device_rate or sample_rate, play_out)
        self.block_size = int(block_size)
        self._generate = generate
        self._ring = RingBuffer(int(buffer_s * sample_rate))
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._first: np.ndarray | None = None
        self.ended = False
        self.lookahead_s = 0.25
        self.late_resyncs = 0  # times the pacer fell > 1 s behind and restarted its clock
        # perf_counter time of the material's sample 0: sample s is released at clock_origin + s / rate.
        # Written by the pacing thread (one float, replaced whole), read by the consumer.
        self.clock_origin: float | None = None

    def _wants_output(self) -> bool:
        return True

    def _start(self) -> None:
        # Generate the first block here, so the real-time clock starts with the material ready
        # (the first MusicStream chunk or the first decode costs tens of ms).
        self._first = self._generate(self.block_size)
        self._halt.clear()
        self._thread = threading.Thread(target=self._pace, name=f"pace-{self.name}", daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def _pace(self) -> None:
        # Idle time between releases is spent generating up to `lookahead_s` ahead, so a generator
        # that works in bursts (MusicStream renders ~2 s of bars at once) never makes a release late.
        period = self.block_size / self.sample_rate
        ahead = max(1, int(self.lookahead_s / period))
        pending: deque[np.ndarray] = deque()
        exhausted = False
        first, self._first = self._first, None
        if first is None:
            self.ended = True
            return
        pending.append(first)
        t0, k = time.perf_counter(), 0
        self.clock_origin = t0
        while not self._halt.is_set():
            due = t0 + (k + 1) * period  # instant the newest sample of block k "happens"
            now = time.perf_counter()
            if now < due:
                if len(pending) < ahead and not exhausted:
                    block = self._generate(self.block_size)
                    if block is None:
                        exhausted = True
                    else:
                        pending.append(block)
                    continue
                self._halt.wait(due - now)
                continue
            if not pending:
                block = None if exhausted else self._generate(self.block_size)
                if block is None:
                    self.ended = True
                    return
                pending.append(block)
            if now - due > 1.0:  # stalled (machine suspended, debugger): restart the clock from now
                t0 = now - (k + 1) * period
                self.clock_origin = t0
                due = now
                self.late_resyncs += 1
            block = pending.popleft()
            self._ring.write(block, due)
            out = self.output
            if out is not None:
                out.write("program", block)
            k += 1

    def _read_raw(self) -> tuple[np.ndarray, float | None]:
        return self._ring.read_new()

    def _status(self) -> str:
        return "ended" if self.ended else ""

    @property
    def overruns(self) -> int:
        return self._ring.overruns


class DemoSource(PacedSource):
    """The procedural music engine (`synesthete.audio.stream.MusicStream`), endless, in real time.

    It knows what it plays: after each stretch the stream composes (~2 s), the pacing thread
    computes that stretch's exact music state at `STATE_FPS` and keeps the last `STATE_KEEP_S`
    seconds; `music_state_at(capture_time)` looks a frame up (a lock held for a list scan).
    """

    STATE_FPS = FPS
    STATE_KEEP_S = 8.0

    def __init__(self, sample_rate: int, block_size: int = BLOCK_SIZE, play_out: bool = True, seed: int = 0) -> None:
        from synesthete.audio.stream import MusicStream

        self.stream = MusicStream(seed=seed, sample_rate=sample_rate, block_size=block_size)
        self._states: deque = deque()  # (first frame, MusicState) per composed stretch, oldest first
        self._states_lock = threading.Lock()
        self._state_frames = 0  # frames whose state is computed
        super().__init__("demo", sample_rate, self._next, block_size, play_out)

    def _next(self, n: int) -> np.ndarray:
        block = np.asarray(self.stream.read(n), dtype=np.float32).reshape(-1)
        ready = self.stream.state_frames_ready(self.STATE_FPS)
        if ready > self._state_frames:  # the stream composed a new stretch: its state is final now
            state = self.stream.music_state(self.STATE_FPS, self._state_frames, ready - self._state_frames)
            keep = int(self.STATE_KEEP_S * self.STATE_FPS)
            with self._states_lock:
                self._states.append((self._state_frames, state))
                while self._states and self._states[0][0] + len(self._states[0][1]) < ready - keep:
                    self._states.popleft()
            self._state_frames = ready
        return block

    def music_state_at(self, capture_time: float | None) -> MusicState | None:
        origin = self.clock_origin
        if capture_time is None or origin is None:
            return None
        k = int(round((capture_time - origin) * self.STATE_FPS)) - 1  # frame k stands for (k + 1) / fps
        with self._states_lock:
            for first, state in reversed(self._states):
                if first <= k < first + len(state):
                    return state.frame(k - first)
        return None


class FileSource(PacedSource):
    """Any file torchcodec can decode, downmixed, resampled to the model rate, paced in real time.

    It LOOPS by default (a live set should not go dark when the track ends); with `loop=False`
    it ends and `status` says "ended". Decoding and resampling are the offline renderer's
    (`synesthete.audio_file`: ranged decoding a second at a time on the pacing thread, libsoxr to
    the model rate), so an hour-long file costs no more memory than a short one and the model
    hears the very samples `synesthete-render` feeds it for the same file (tested).
    """

    DECODE_SECONDS = 1.0  # per decode on the pacing thread: a few ms of work, well inside its lookahead

    def __init__(self, path: str | Path, sample_rate: int, block_size: int = BLOCK_SIZE, play_out: bool = True,
                 loop: bool = True) -> None:
        from synesthete.audio_file import AudioFile, AudioFileError

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"audio file not found: {self.path}")
        try:
            self._file = AudioFile(self.path)
        except AudioFileError as e:
            reason = str(e).removeprefix(f"{self.path}: ")
            raise ValueError(f"cannot decode {self.path} as audio ({reason}); use a wav/flac/mp3/ogg/m4a file") from None
        native = self._file.sample_rate
        self.loop = loop
        self._chunks = self._file.chunks(self.DECODE_SECONDS)
        self._decoded_any = False
        self._resampler = Resampler(native, sample_rate)  # the renderer's resampler (HQ)
        self._pending = np.zeros(0, dtype=np.float32)
        self._done = False
        super().__init__(f"file:{self.path.name}", sample_rate, self._next, block_size, play_out,
                         device_rate=native)

    def _stop(self) -> None:
        super()._stop()  # the pacing thread has ended: nothing uses the resampler now
        self._resampler.close()  # libsoxr's state goes now, not at interpreter exit

    def _next(self, n: int) -> np.ndarray | None:
        while self._pending.size < n and not self._done:
            chunk = next(self._chunks, None)
            if chunk is None:
                if self.loop and self._decoded_any:
                    self._chunks = self._file.chunks(self.DECODE_SECONDS)  # seamless restart: the resampler
                    continue  # keeps its state across the seam
                self._done = True  # the end: the resampler's held-back tail, then silence to a whole block
                self._pending = np.concatenate([self._pending, self._resampler.flush()])
                break
            self._decoded_any = True
            self._pending = np.concatenate([self._pending, self._resampler.process(downmix(chunk))])
        if self._pending.size == 0:
            return None
        block, self._pending = self._pending[:n], self._pending[n:]
        return np.pad(block, (0, n - block.size))
