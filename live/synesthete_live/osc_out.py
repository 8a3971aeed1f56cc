"""OSC out: the music state, every frame, and its events as they happen, to other VJ software.

`synesthete-live --osc-out 127.0.0.1:7000` (repeatable: one stream to each target) sends over UDP:

* every model frame, one bundle of the continuous values: one message per field of
  `synesthete.music_state.FIELDS` (a multi-column field gives one per column), at
  `/synesthete/state/<field>` or `/synesthete/state/<field>/<column>`, one float each, in the
  field's own units (envelopes 0..1, phases 0..1, tempo in BPM, chord root 0..11, ...);
* after it, one message per event that frame produced (`synesthete.music_events.EventDetector`):
  `/synesthete/event/beat` (number in the bar), `/synesthete/event/downbeat`,
  `/synesthete/event/hit/<stem>` (velocity), `/synesthete/event/chord` (root, quality, name),
  `/synesthete/event/tempo` (BPM).

docs/osc.md lists every address with its arguments and units (`state_addresses()` and
`EVENT_ADDRESSES` are its source).

Threads: the render thread only appends the frame's `MusicState` to a bounded queue (`submit`,
a lock held for one append); when the queue is full the OLDEST frame is dropped and counted (a
receiver wants the present, not the past). The sender thread runs the event detector over the
frames in order, encodes and sends. Encoding is cheap because the bundle's layout never
changes: python-osc builds it once with placeholder values, and each frame only writes its
big-endian floats into a copy of those bytes at the known offsets.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Iterable

import numpy as np
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from synesthete.constants import STEMS
from synesthete.music_events import Beat, ChordChange, DetectorConfig, Downbeat, EventDetector, Hit, TempoChange
from synesthete.music_state import FIELDS, MusicState
from synesthete_live.send_queue import SendQueue

ROOT = "/synesthete"
QUEUE_FRAMES = 32  # about half a second at 60 fps: a receiver that far behind wants new frames
ERROR_NOTE_S = 5.0

# address, OSC type tags, meaning (docs/osc.md renders this table)
EVENT_ADDRESSES: tuple[tuple[str, str, str], ...] = (
    (f"{ROOT}/event/beat", "i", "a beat: its number in the bar (1 = the downbeat)"),
    (f"{ROOT}/event/downbeat", "i", "a downbeat (the first beat of a bar): always 1"),
    *((f"{ROOT}/event/hit/{stem}", "f", f"a {stem} hit: its velocity 0..1") for stem in STEMS),
    (f"{ROOT}/event/chord", "iss", "a chord change: root pitch class 0..11, quality, name (e.g. 'A minor')"),
    (f"{ROOT}/event/tempo", "f", "a tempo change: beats per minute"),
)


class OscOutError(ValueError):
    """A malformed or unresolvable --osc-out target."""


def parse_target(text: str) -> tuple[str, int]:
    """'HOST:PORT' -> (ip address, port); the host is resolved once, here, not per send."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise OscOutError(f"--osc-out {text!r}: expected HOST:PORT, e.g. 127.0.0.1:7000")
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise OscOutError(f"--osc-out {text!r}: the port must be 1..65535")
    try:
        info = socket.getaddrinfo(host.strip("[]"), port, socket.AF_INET, socket.SOCK_DGRAM)
    except socket.gaierror as e:
        raise OscOutError(f"--osc-out {text!r}: cannot resolve {host!r} ({e.strerror})") from None
    return info[0][4][0], port


def state_addresses() -> list[tuple[str, str, str]]:
    """(address, field name, help) of every continuous value, in bundle order, from FIELDS."""
    out = []
    for f in FIELDS:
        if f.columns is None:
            out.append((f"{ROOT}/state/{f.name}", f.name, f.help))
        else:
            out += [(f"{ROOT}/state/{f.name}/{c}", f.name, f"{f.help} ({c})") for c in f.columns]
    return out


class StateBundle:
    """Encodes one frame of a MusicState as an OSC bundle: a python-osc template, floats patched in."""

    def __init__(self) -> None:
        self.addresses = [a for a, _, _ in state_addresses()]
        bundle = OscBundleBuilder(IMMEDIATELY)
        sizes = []
        for address in self.addresses:
            m = OscMessageBuilder(address)
            m.add_arg(0.0, "f")
            msg = m.build()
            sizes.append(len(msg.dgram))
            bundle.add_content(msg)
        self.template = np.frombuffer(bundle.build().dgram, np.uint8).copy()
        # Bundle layout: "#bundle\0", 8-byte time tag, then per element a 4-byte size and the
        # message, whose float argument is its last 4 bytes.
        ends = 16 + np.cumsum(np.asarray(sizes) + 4)  # end of each message in the bundle
        self._float_bytes = ((ends - 4)[:, None] + np.arange(4)[None, :]).reshape(-1)  # (4 n,)
        self._buffer = self.template.copy()

    @staticmethod
    def values(state: MusicState) -> np.ndarray:
        """The frame's values in bundle order, (n,) float32."""
        return np.concatenate([np.asarray(getattr(state, f.name), np.float32).reshape(-1) for f in FIELDS])

    def encode(self, values: np.ndarray) -> bytes:
        self._buffer[self._float_bytes] = np.asarray(values, ">f4").view(np.uint8)
        return self._buffer.tobytes()


def event_message(event) -> bytes:
    """One event of `synesthete.music_events` as an OSC message (see EVENT_ADDRESSES)."""
    if isinstance(event, Beat):
        m = OscMessageBuilder(f"{ROOT}/event/beat")
        m.add_arg(int(event.number), "i")
    elif isinstance(event, Downbeat):
        m = OscMessageBuilder(f"{ROOT}/event/downbeat")
        m.add_arg(1, "i")
    elif isinstance(event, Hit):
        m = OscMessageBuilder(f"{ROOT}/event/hit/{event.stem}")
        m.add_arg(float(event.velocity), "f")
    elif isinstance(event, ChordChange):
        m = OscMessageBuilder(f"{ROOT}/event/chord")
        m.add_arg(int(event.root), "i")
        m.add_arg(str(event.quality), "s")
        m.add_arg(event.name, "s")
    elif isinstance(event, TempoChange):
        m = OscMessageBuilder(f"{ROOT}/event/tempo")
        m.add_arg(float(event.bpm), "f")
    else:
        raise TypeError(f"not a music event: {event!r}")
    return m.build().dgram


class OscOut:
    """Sends each submitted frame's state (and its events) to every target, on its own thread."""

    def __init__(self, targets: Iterable[tuple[str, int]], fps: float, queue_frames: int = QUEUE_FRAMES,
                 detector: DetectorConfig | None = None) -> None:
        self.targets = list(targets)
        if not self.targets:
            raise ValueError("OscOut needs at least one target")
        self.fps = float(fps)
        self.detector = EventDetector(self.fps, detector)  # the hearing checkpoint's thresholds: as the evaluation
        self._next_detector: EventDetector | None = None
        self.encoder = StateBundle()
        self._queue: SendQueue[MusicState] = SendQueue(queue_frames)
        self.sent = 0  # sender thread: bundles sent (to every target)
        self.events_sent = 0  # sender thread
        self.errors = 0  # sender thread: failed sendto calls
        self.last_error: tuple[str, float] | None = None
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._thread = threading.Thread(target=self._run, name="osc-out", daemon=True)

    def start(self) -> "OscOut":
        self._thread.start()
        return self

    def submit(self, state: MusicState) -> None:
        """Queue one frame (a MusicState of length 1); never blocks. Render thread only."""
        self._queue.put(state)

    @property
    def submitted(self) -> int:
        return self._queue.submitted

    @property
    def dropped(self) -> int:
        """Frames dropped because the sender fell a whole queue behind (the oldest go first)."""
        return self._queue.dropped

    def stop(self, timeout: float = 2.0) -> None:
        """Send what is queued (up to `timeout`), then stop and close the socket. Idempotent."""
        self._queue.close()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()

    def set_detector(self, config: DetectorConfig | None) -> None:
        """Read events with `config` from the next frame on (a new hearing checkpoint: its own
        thresholds). The sender thread swaps the detector in before its next frame."""
        self._next_detector = EventDetector(self.fps, config)

    def _run(self) -> None:
        while (state := self._queue.get()) is not None:
            if self._next_detector is not None:  # one attribute read and write: no lock needed
                self.detector, self._next_detector = self._next_detector, None
            self._send(state)

    def _send(self, state: MusicState) -> None:
        datagrams = [self.encoder.encode(StateBundle.values(state))]
        events = self.detector.update(state)
        datagrams += [event_message(e) for e in events]
        for target in self.targets:
            for d in datagrams:
                try:
                    self._sock.sendto(d, target)
                except OSError as e:  # a receiver that went away (ICMP refused), a full buffer: count, go on
                    self.errors += 1
                    self.last_error = (f"{target[0]}:{target[1]} {e.strerror or e}", time.perf_counter())
        self.sent += 1
        self.events_sent += len(events)

    def hud_line(self, now: float) -> str:
        names = ", ".join(f"{h}:{p}" for h, p in self.targets)
        line = f"osc out {names}  {self.sent} frames  {self.events_sent} events  {self.dropped} dropped"
        if self.last_error is not None and now - self.last_error[1] < ERROR_NOTE_S:
            line += f"  ({self.errors} errors: {self.last_error[0]})"
        return line
