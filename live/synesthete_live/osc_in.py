"""OSC in: every control a key or MIDI knob has, as an OSC address other VJ software can drive.

`synesthete-live --osc-in 9000` listens on UDP 127.0.0.1:9000 (`--osc-in-host 0.0.0.0` for the
network). The addresses are derived from `synesthete.controls.CONTROL_SPECS` (a new control gets
its addresses without touching this file) plus the app actions: `address_table()` lists them and
docs/osc.md documents them.

Threads: a receiver thread waits on its own socket, then takes whatever has arrived in one burst
and rests 4 ms (so under a flood it wakes a few hundred times a second, not once per message).
Per datagram it does only cheap work: it reads the address (the bytes up to the first NUL),
rejects what is not one of ours (counted, with a short note for the HUD) and stores the raw
datagram under its address in a dict, replacing the previous one: per address the newest message
wins. The dict can never hold more entries than there are addresses, so a flood of thousands of
messages a second costs a few microseconds each on that thread and nothing on the render thread;
beyond what the kernel's socket buffer holds between bursts, the OS drops datagrams. The render thread `poll()`s
once per frame: it swaps the dict out under a lock held for one assignment, decodes each
datagram with python-osc, checks the arguments (type, count, range) and returns `OscRequest`s;
`OscControlMap` turns them into the same control events the keys and MIDI produce, with the
same glide and pick-up rules (`knob.KnobRules`). Bundles are unpacked on the receiver thread
(each message inside counts on its own).

Counters: `received` (datagrams), `accepted` (requests handed to the render thread), `bad`
(unknown address, wrong type or count, out of range, garbage bytes), `superseded` (messages a
newer one to the same address replaced before a frame read it). Each counter has one writer.
"""

from __future__ import annotations

import math
import select
import socket
import threading
import time
from dataclasses import dataclass

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage

from synesthete.controls import CONTROL_SPECS, SPECS, ControlState
from synesthete_live.knob import KnobRules

ROOT = "/synesthete"
NUDGE_LIMIT = 16.0  # a nudge moves at most this many keyboard steps at once
BAD_NOTE_S = 5.0  # how long the HUD shows the last bad message
BURST_PAUSE_S = 0.004  # the receiver's rest between bursts: <= 4 ms added to a 16.7 ms frame
MAX_BURST = 4096  # datagrams taken per burst at most (more than the kernel buffer holds)


class OscError(RuntimeError):
    """The OSC port could not be opened (in use, no permission, bad host)."""


@dataclass(frozen=True)
class OscAddress:
    address: str
    action: str  # knob | toggle | nudge | style | preset_next | preset_previous | preset_name | reset | hud | fullscreen
    control: str | None  # the control it drives, None for app actions
    args: str  # "number 0..1", "number", "integer 1..N", "string", "none or number", "none or 0/1"
    help: str


def address_table() -> tuple[OscAddress, ...]:
    """Every address OSC in understands, in documentation order."""
    out: list[OscAddress] = []
    for s in CONTROL_SPECS:
        if s.kind == "trigger":
            continue
        what = {"continuous": f"0..1 across {s.lo:g}..{s.hi:g}, with pick-up",
                "choice": f"0..1 picks one of {int(s.hi) + 1} modes by position",
                "toggle": "on at >= 0.5, off below"}[s.kind]
        out.append(OscAddress(f"{ROOT}/control/{s.name}", "knob", s.name, "number 0..1", f"{s.help} ({what})"))
    for s in CONTROL_SPECS:
        if s.kind == "toggle":
            out.append(OscAddress(f"{ROOT}/toggle/{s.name}", "toggle", s.name, "none or number",
                                  f"flip {s.name} (a momentary button: fires on no argument or >= 0.5)"))
    for s in CONTROL_SPECS:
        if s.kind in ("continuous", "choice"):
            out.append(OscAddress(f"{ROOT}/nudge/{s.name}", "nudge", s.name, "number",
                                  f"move {s.name} by N keyboard steps ({s.step:g} each; -1 = down, 1 = up)"))
    out += [
        OscAddress(f"{ROOT}/style/select", "style", "style", "integer 1..N",
                   "jump the style morph to style N (1 = the first), like keys 1-9"),
        OscAddress(f"{ROOT}/preset/next", "preset_next", "next_preset", "none or number", SPECS["next_preset"].help),
        OscAddress(f"{ROOT}/preset/previous", "preset_previous", "prev_preset", "none or number",
                   SPECS["prev_preset"].help),
        OscAddress(f"{ROOT}/preset/name", "preset_name", None, "string",
                   "switch to the preset of that name (a file stem in the presets folder)"),
        OscAddress(f"{ROOT}/app/reset", "reset", None, "none or number", "reset the controls to the preset's values"),
        OscAddress(f"{ROOT}/app/hud", "hud", None, "none or 0/1", "HUD on (1) / off (0); no argument flips it"),
        OscAddress(f"{ROOT}/app/fullscreen", "fullscreen", None, "none or 0/1",
                   "fullscreen on (1) / off (0); no argument flips it"),
    ]
    return tuple(out)


@dataclass(frozen=True)
class OscRequest:
    """One checked message: `value` is a float (numbers), a str (names) or None (no argument)."""

    address: OscAddress
    value: float | str | None


def _number(arg: object) -> float | None:
    if isinstance(arg, bool):
        return 1.0 if arg else 0.0
    if isinstance(arg, (int, float)) and math.isfinite(float(arg)):
        return float(arg)
    return None


def check(address: OscAddress, args: list) -> OscRequest | str:
    """The request for these arguments, or why they are wrong (a short text for the HUD)."""
    kind = address.args
    if kind.startswith("none"):
        if not args:
            return OscRequest(address, None)
        if len(args) == 1 and _number(args[0]) is not None:
            return OscRequest(address, _number(args[0]))
        return f"{address.address} takes no argument or one number, got {args!r:.40}"
    if len(args) != 1:
        return f"{address.address} takes one {kind.split()[0]}, got {len(args)} arguments"
    if kind == "string":
        if not isinstance(args[0], str) or not args[0].strip():
            return f"{address.address} takes a name (string), got {args[0]!r:.40}"
        return OscRequest(address, args[0].strip())
    value = _number(args[0])
    if value is None:
        return f"{address.address} takes a number, got {args[0]!r:.40}"
    if kind == "number 0..1" and not 0.0 <= value <= 1.0:
        return f"{address.address}: {value:g} is out of range 0..1"
    if kind == "number" and not (abs(value) <= NUDGE_LIMIT):
        return f"{address.address}: {value:g} is out of range -{NUDGE_LIMIT:g}..{NUDGE_LIMIT:g}"
    if kind.startswith("integer") and (value != int(value) or value < 1):
        return f"{address.address} takes a style number 1..N, got {value:g}"
    return OscRequest(address, value)


def _address_of(datagram: bytes) -> bytes | None:
    """The address of an OSC message (bytes up to the first NUL), None when it is not one."""
    end = datagram.find(b"\0")
    if end <= 1 or datagram[0:1] != b"/":
        return None
    return datagram[:end]


class OscIn:
    """A UDP OSC listener; `poll()` gives the newest checked request per address since the last poll."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.addresses = {a.address.encode(): a for a in address_table()}
        self.received = 0  # receiver thread
        self.superseded = 0  # receiver thread
        self._bad_rx = 0  # receiver thread
        self._bad_poll = 0  # render thread
        self.accepted = 0  # render thread
        self.last_bad: tuple[str, float] | None = None  # (note, perf_counter); replaced whole (atomic)
        self._pending: dict[bytes, bytes] = {}
        self._lock = threading.Lock()  # guards `_pending`: held for one dict store or one swap
        self._halt = threading.Event()
        try:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._sock.bind((host, int(port)))
        except (OSError, OverflowError) as e:
            raise OscError(f"cannot listen for OSC on {host}:{port} ({e})") from e
        self._sock.setblocking(False)  # the thread waits in select(), then drains what is there
        self.host, self.port = self._sock.getsockname()[:2]
        self._thread = threading.Thread(target=self._receive, name="osc-in", daemon=True)

    @property
    def bad(self) -> int:
        return self._bad_rx + self._bad_poll

    def start(self) -> "OscIn":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close the port. Idempotent."""
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self._sock.close()

    close = stop

    def _note(self, text: str) -> None:
        self.last_bad = (text, time.perf_counter())

    # ---- receiver thread ---------------------------------------------------------------------
    def _receive(self) -> None:
        # Bursts: wait until something arrives, take everything queued, then pause BURST_PAUSE_S
        # while the kernel buffers what comes next. Under a flood the thread wakes ~250 times a
        # second, not once per message: each wake-up takes the GIL from the render thread.
        while not self._halt.is_set():
            try:
                readable, _, _ = select.select([self._sock], [], [], 0.2)
            except (OSError, ValueError):  # closed under us at shutdown
                return
            if not readable:
                continue
            burst: dict[bytes, bytes] = {}
            for _ in range(MAX_BURST):
                try:
                    data = self._sock.recv(65536)
                except BlockingIOError:
                    break
                except OSError:
                    return
                self.received += 1
                self._take(data, burst, depth=0)
            if burst:
                with self._lock:
                    self.superseded += len(burst.keys() & self._pending.keys())
                    self._pending.update(burst)
            self._halt.wait(BURST_PAUSE_S)

    def _take(self, data: bytes, burst: dict[bytes, bytes], depth: int) -> None:
        if data.startswith(b"#bundle\0"):
            self._take_bundle(data, burst, depth)
            return
        address = _address_of(data)
        if address is None:
            self._bad_rx += 1
            self._note(f"osc in: not an OSC message ({len(data)} bytes)")
            return
        if address not in self.addresses:
            self._bad_rx += 1
            self._note(f"osc in: unknown address {address[:60].decode(errors='replace')}")
            return
        if address in burst:
            self.superseded += 1
        burst[address] = data

    def _take_bundle(self, data: bytes, burst: dict[bytes, bytes], depth: int) -> None:
        try:
            bundle = OscBundle(data)
        except Exception as e:  # untrusted bytes: any parse failure is a bad message, never a crash
            self._bad_rx += 1
            self._note(f"osc in: broken bundle ({e})"[:80])
            return
        if depth > 4:  # bundles in bundles in ...: no legitimate sender nests this deep
            self._bad_rx += 1
            self._note("osc in: bundle nested too deep")
            return
        for content in bundle:
            self._take(content.dgram, burst, depth + 1)

    # ---- render thread -----------------------------------------------------------------------
    def poll(self) -> list[OscRequest]:
        """The checked requests that arrived since the last poll (newest per address)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        out: list[OscRequest] = []
        for address, data in pending.items():
            spec = self.addresses[address]
            try:
                args = list(OscMessage(data).params)
            except Exception as e:  # untrusted bytes, as above
                self._reject(f"osc in: {spec.address}: malformed ({e})"[:80])
                continue
            request = check(spec, args)
            if isinstance(request, str):
                self._reject(f"osc in: {request}")
                continue
            self.accepted += 1
            out.append(request)
        return out

    def reject(self, text: str) -> None:
        """A request that passed `check` but cannot apply (style N beyond the styles, unknown preset)."""
        self._reject(f"osc in: {text}")

    def _reject(self, text: str) -> None:
        self._bad_poll += 1
        self._note(text)

    def hud_line(self, now: float) -> str:
        line = f"osc in :{self.port}  {self.accepted} ok  {self.bad} bad"
        if self.last_bad is not None and now - self.last_bad[1] < BAD_NOTE_S:
            line += f"  ({self.last_bad[0].removeprefix('osc in: ')})"
        return line


class OscControlMap:
    """Checked OSC requests -> control events (the dicts of `ControlState.apply`) and app actions.

    App actions are `{"op": "app", "name": "reset" | "hud" | "fullscreen", "value": None | bool}`
    and `{"op": "preset", "name": NAME}`; triggers are `{"op": "trigger", "name": ...}` as keys
    and MIDI make them. Knobs use MIDI's pick-up rule; toggles at /control/ carry their state.
    """

    def __init__(self, pickup: bool = True) -> None:
        self.knobs = KnobRules(pickup, toggles="absolute")
        self.touched: set[str] = set()  # controls an OSC knob has driven (for the HUD's pick-up line)

    def events(self, request: OscRequest, controls: ControlState) -> list[dict] | str:
        """The events for one request, or why it cannot apply (a short text)."""
        a, v = request.address, request.value
        if a.action == "knob":
            self.touched.add(a.control)
            ev = self.knobs.event(a.address, a.control, float(v), controls)
            return [ev] if ev is not None else []
        if a.action == "nudge":
            return [{"op": "nudge", "name": a.control, "value": float(v)}] if v else []
        if a.action == "style":
            n = controls.n_styles
            if int(v) > n:
                return f"{a.address}: style {int(v)} of {n}"
            return [{"op": "set", "name": "style", "value": (int(v) - 1) / max(n - 1, 1)}]
        if a.action == "preset_name":
            return [{"op": "preset", "name": v}]
        fires = v is None or v >= 0.5  # momentary buttons: the release (0) does nothing
        if a.action == "toggle":
            return [{"op": "toggle", "name": a.control}] if fires else []
        if a.action in ("preset_next", "preset_previous"):
            return [{"op": "trigger", "name": a.control}] if fires else []
        if a.action == "reset":
            return [{"op": "app", "name": "reset", "value": None}] if fires else []
        return [{"op": "app", "name": a.action, "value": None if v is None else v >= 0.5}]  # hud, fullscreen

    def waiting_pickup(self) -> list[str]:
        return self.knobs.waiting(self.touched)
