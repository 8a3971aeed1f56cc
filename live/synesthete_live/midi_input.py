"""MIDI input: a controller's notes, knobs and pitch bend as timestamped `MidiEvent`s.

python-rtmidi calls our callback on its own thread (on JACK, the JACK process thread), so the
callback only decodes the raw bytes into a `MidiEvent` stamped with `time.perf_counter()` and
appends it to a bounded deque; the live loop `poll()`s once per frame and applies the events
between frames. Anything that is not one of the five event kinds we use is never queued:
broken bytes (a data byte where a status byte belongs, i.e. running-status garbage; wrong
lengths; data bytes > 127) count in `.malformed`; valid MIDI we have no use for (sysex, clock,
active sensing, aftertouch, ...) counts in `.ignored`. When the queue is full the OLDEST event is
dropped and counted in `.dropped` (fresh gestures matter more than stale ones).

Thread safety: `collections.deque.append` and `popleft` are atomic in CPython, and each counter
has one writer (the callback), so the callback and the polling thread never need a lock.

Backends: rtmidi's default API (ALSA sequencer on Linux, CoreMIDI, WinMM) is tried first; when it
is unavailable (no /dev/snd/seq, as in containers) we fall back to JACK MIDI. Pass `api=` to force one.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

EventKind = Literal["note_on", "note_off", "cc", "program", "pitchbend"]


@dataclass(frozen=True, slots=True)
class MidiEvent:
    """One decoded message. `time` is perf_counter seconds at arrival.

    note_on/note_off: number = note, value = velocity (a note_on with velocity 0 is a note_off);
    cc: number = controller, value = 0..127; program: number = program, value = 0;
    pitchbend: number = 0, value = -8192..8191 (0 = centre). `channel` is 0..15.
    """

    time: float
    kind: EventKind
    channel: int
    number: int
    value: int


class MidiError(RuntimeError):
    """A MIDI port could not be found or opened; the message lists what exists."""


_LENGTHS = {0x80: 3, 0x90: 3, 0xA0: 3, 0xB0: 3, 0xC0: 2, 0xD0: 2, 0xE0: 3}
_USED = {0x80, 0x90, 0xB0, 0xC0, 0xE0}


def decode(message: list[int] | tuple[int, ...], t: float) -> MidiEvent | str:
    """Raw bytes to a MidiEvent, or "malformed" / "ignored" saying why not."""
    if not message:
        return "malformed"
    status = message[0]
    if status < 0x80 or status > 0xFF:
        return "malformed"  # running status or garbage: rtmidi delivers whole messages
    if status >= 0xF0:
        return "ignored"  # sysex, clock, start/stop, active sensing, ...
    kind = status & 0xF0
    if len(message) != _LENGTHS[kind] or any(not 0 <= b <= 0x7F for b in message[1:]):
        return "malformed"
    if kind not in _USED:
        return "ignored"  # aftertouch / channel pressure
    ch = status & 0x0F
    if kind == 0x90:
        return MidiEvent(t, "note_on" if message[2] else "note_off", ch, message[1], message[2])
    if kind == 0x80:
        return MidiEvent(t, "note_off", ch, message[1], message[2])
    if kind == 0xB0:
        return MidiEvent(t, "cc", ch, message[1], message[2])
    if kind == 0xC0:
        return MidiEvent(t, "program", ch, message[1], 0)
    return MidiEvent(t, "pitchbend", ch, 0, (message[1] | (message[2] << 7)) - 8192)


def _rtmidi():
    import rtmidi

    return rtmidi


def _midi_in(api: int | None, client_name: str = "synesthete"):
    """An rtmidi.MidiIn on `api`; None = default API, falling back to JACK when it fails."""
    rtmidi = _rtmidi()
    if api is not None:
        try:
            return rtmidi.MidiIn(api, name=client_name)
        except Exception as e:
            raise MidiError(f"cannot use MIDI API {rtmidi.get_api_name(api)} ({e})") from e
    try:
        return rtmidi.MidiIn(name=client_name)
    except Exception as first:  # e.g. ALSA without a sequencer device
        if rtmidi.API_UNIX_JACK in rtmidi.get_compiled_api():
            try:
                return rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=client_name)
            except Exception:
                pass
        raise MidiError(f"no MIDI backend available ({first}); on Linux load snd-seq or run a JACK server") from first


def list_midi_ports(api: int | None = None) -> list[str]:
    """Names of MIDI input ports (what `MidiInput(port=...)` can open); [] when there is no backend."""
    try:
        m = _midi_in(api, "synesthete-list")
    except MidiError:
        return []
    try:
        return list(m.get_ports())
    finally:
        m.delete()


class MidiInput:
    """An open MIDI input port; `poll()` returns the events that arrived since the previous poll.

    `port`: an index into `list_midi_ports()`, or a case-insensitive name substring. With
    `port=None` a virtual input port named `virtual_name` (default "synesthete") is created
    instead, for other software or a JACK/ALSA patchbay to connect to.
    """

    def __init__(self, port: str | int | None = None, virtual_name: str | None = None, api: int | None = None,
                 queue_size: int = 1024) -> None:
        self._in = _midi_in(api)
        self.api_name = _rtmidi().get_api_name(self._in.get_current_api())
        self._queue: deque[MidiEvent] = deque(maxlen=int(queue_size))
        self.malformed = 0
        self.ignored = 0
        self.dropped = 0
        try:
            if port is None:
                self.port_name = virtual_name or "synesthete"
                self._in.open_virtual_port(self.port_name)
            else:
                if virtual_name is not None:
                    raise ValueError("give either port (to open an existing port) or virtual_name, not both")
                index = self._resolve(port)
                self.port_name = self._in.get_port_name(index)
                self._in.open_port(index)
        except Exception:
            self._in.delete()
            raise
        # Receive everything so that we can count what we ignore (rtmidi filters sysex/clock by default).
        self._in.ignore_types(sysex=False, timing=False, active_sense=False)
        self._in.set_callback(self._callback)

    def _resolve(self, port: str | int) -> int:
        ports = list(self._in.get_ports())
        listing = "; ".join(f"{i}: {p}" for i, p in enumerate(ports)) or "none"
        if isinstance(port, int) or (isinstance(port, str) and port.strip().isdigit()):
            i = int(port)
            if not 0 <= i < len(ports):
                raise MidiError(f"MIDI port index {i} is out of range; {self.api_name} ports: {listing}")
            return i
        hits = [i for i, p in enumerate(ports) if str(port).lower() in p.lower()]
        if not hits:
            raise MidiError(f"no MIDI input port name contains {port!r}; {self.api_name} ports: {listing}")
        return hits[0]

    def _callback(self, event: tuple[list[int], float], data: object = None) -> None:
        t = time.perf_counter()
        decoded = decode(event[0], t)
        if isinstance(decoded, str):
            if decoded == "malformed":
                self.malformed += 1
            else:
                self.ignored += 1
            return
        q = self._queue
        if len(q) == q.maxlen:
            self.dropped += 1  # the append below pushes the oldest event out
        q.append(decoded)

    def poll(self) -> list[MidiEvent]:
        """Events since the last poll, oldest first. Non-blocking."""
        out = []
        q = self._queue
        while q:
            try:
                out.append(q.popleft())
            except IndexError:
                break
        return out

    def close(self) -> None:
        """Close the port and free the client. Idempotent."""
        if self._in is None:
            return
        try:
            self._in.cancel_callback()
            self._in.close_port()
        finally:
            self._in.delete()
            self._in = None

    def __enter__(self) -> "MidiInput":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
