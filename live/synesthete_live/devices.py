"""Finding audio devices: the `--list-devices` table, input selection by index/name, loopback.

A VJ names an input the way they see it ("2", "Scarlett", "mic", "loopback"); this module turns
that into a PortAudio device index or one clear `AudioDeviceError` that says what exists. It is
separate from the capture code so that listing and selection can be tested and used (by the CLI)
without opening a stream. PortAudio enumerates devices once, at initialisation; `refresh_devices`
re-enumerates (e.g. after a JACK server or a USB interface appears).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Callable

# PortAudio aborts the process when one thread opens a stream while another closes one (seen
# under JACK, where a lost input and a lost output are closed and reopened by separate
# watchdogs), so every open and close of a kept stream takes its turn. A close that blocks (its
# server died) is waited for CLOSE_WAIT_S at most: no open can succeed then anyway.
CLOSE_WAIT_S = 2.0
_PORTAUDIO_TURNS = threading.Lock()


@contextmanager
def _portaudio_turn():
    held = _PORTAUDIO_TURNS.acquire(timeout=CLOSE_WAIT_S)
    try:
        yield
    finally:
        if held:
            _PORTAUDIO_TURNS.release()

LOOPBACK_HELP = (
    "no loopback (monitor) input found. On Linux, PulseAudio and PipeWire expose a "
    "'Monitor of <output>' source for every output; PortAudio sees it through the 'pulse' ALSA "
    "device or as its own device when pipewire-alsa / pulseaudio-alsa is installed. Check with "
    "`pactl list short sources | grep monitor`, then pick it by name "
    "(e.g. `--source monitor`) or set it as the default input with "
    "`pactl set-default-source <name>.monitor` and use `--source mic`. "
    "macOS: install BlackHole and route the output through a Multi-Output Device. "
    "Windows: use a WASAPI loopback device or enable 'Stereo Mix'. See docs/live.md."
)


class AudioDeviceError(RuntimeError):
    """An audio device could not be found, selected or opened; the message says what exists."""


def sounddevice() -> ModuleType:
    """The sounddevice module, or AudioDeviceError when PortAudio is not installed."""
    try:
        import sounddevice as sd
    except OSError as e:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise AudioDeviceError(
            f"PortAudio is not available ({e}). Install it (Debian/Ubuntu: `apt install "
            "libportaudio2`; macOS: `brew install portaudio`) or use `--source demo` / `--source file:PATH`."
        ) from e
    return sd


_jack_client_name = None  # PortAudio keeps the pointer we hand it, so the bytes must stay alive


def set_jack_client_name(name: str) -> bool:
    """Name this process's JACK client (ports appear as "<name>:in_0"); applies at the next
    PortAudio initialisation (see `refresh_devices`). False when PortAudio was built without JACK."""
    global _jack_client_name
    import ctypes

    sd = sounddevice()
    try:
        fn = ctypes.CDLL(sd._libname).PaJack_SetClientName
    except (OSError, AttributeError):
        return False
    _jack_client_name = ctypes.create_string_buffer(name.encode())
    return fn(_jack_client_name) == 0


def refresh_devices(jack_client_name: str | None = None) -> None:
    """Re-enumerate devices (PortAudio only looks once, at initialisation), e.g. to see a JACK
    server or a USB interface that appeared after start-up.

    Closes every PortAudio stream of this process: call it before opening streams, or let the
    self-healing streams (DeviceSource, AudioOutput) reopen afterwards.
    """
    sd = sounddevice()
    if jack_client_name is not None:
        set_jack_client_name(jack_client_name)
    sd._terminate()
    sd._initialize()


def _devices() -> list[dict[str, Any]]:
    sd = sounddevice()
    return [dict(d, index=i) for i, d in enumerate(sd.query_devices())]


def _hostapi_names() -> list[str]:
    return [h["name"] for h in sounddevice().query_hostapis()]


def input_devices() -> list[dict[str, Any]]:
    """Devices with at least one input channel (dicts from sounddevice + "index")."""
    return [d for d in _devices() if d["max_input_channels"] > 0]


def _default_index(kind: str) -> int:
    sd = sounddevice()
    pair = sd.default.device
    idx = pair[0] if kind == "input" else pair[1]
    if idx is None or idx < 0:
        try:
            idx = sd.query_devices(kind=kind)["index"]
        except Exception:
            return -1
    return int(idx)


def default_input_index() -> int:
    """PortAudio's default input device, or -1 when there is none."""
    return _default_index("input")


def default_output_index() -> int:
    """PortAudio's default output device, or -1 when there is none."""
    return _default_index("output")


def list_devices() -> str:
    """A table of every device: index, host API, in/out channels, default rate, default markers."""
    try:
        devices = _devices()
        hostapis = _hostapi_names()
    except AudioDeviceError as e:
        return str(e)
    d_in, d_out = default_input_index(), default_output_index()
    lines = [f"{'':2}{'idx':>3}  {'name':<40} {'host API':<26} {'in':>3} {'out':>3} {'rate':>7}"]
    for d in devices:
        mark = (">" if d["index"] == d_in else " ") + ("<" if d["index"] == d_out else " ")
        lines.append(
            f"{mark}{d['index']:>3}  {d['name'][:40]:<40} {hostapis[d['hostapi']][:26]:<26} "
            f"{d['max_input_channels']:>3} {d['max_output_channels']:>3} {d['default_samplerate']:>7.0f}"
        )
    if not devices:
        lines.append("  (no audio devices; use --source demo or --source file:PATH)")
    lines.append("  > default input   < default output")
    return "\n".join(lines)


def _inputs_text() -> str:
    ins = input_devices()
    if not ins:
        return "there are no input devices"
    return "inputs: " + "; ".join(f"{d['index']}: {d['name']}" for d in ins)


def find_input_device(spec: str | int) -> int:
    """Resolve "mic" (default input), an index ("3" or 3), "loopback" or a name substring."""
    devices = _devices()
    text = str(spec).strip()
    if text in ("mic", "default", ""):
        idx = default_input_index()
        if idx < 0:
            raise AudioDeviceError(f"no default input device; {_inputs_text()}. Try --source demo.")
        return idx
    if text == "loopback":
        return find_loopback_device()
    if text.lstrip("-").isdigit():
        idx = int(text)
        if not 0 <= idx < len(devices):
            raise AudioDeviceError(
                f"input device index {idx} is out of range (0..{len(devices) - 1}); {_inputs_text()}"
            )
        if devices[idx]["max_input_channels"] < 1:
            raise AudioDeviceError(
                f"device {idx} ({devices[idx]['name']}) has no inputs; {_inputs_text()}"
            )
        return idx
    matches = [d for d in input_devices() if text.lower() in d["name"].lower()]
    if not matches:
        outputs_only = [d for d in devices if text.lower() in d["name"].lower()]
        if outputs_only:
            d = outputs_only[0]
            raise AudioDeviceError(f"device {d['index']} ({d['name']}) has no inputs; {_inputs_text()}")
        raise AudioDeviceError(f"no input device name contains {text!r}; {_inputs_text()}")
    return int(matches[0]["index"])


def find_loopback_device() -> int:
    """The first input whose name contains "monitor" (PulseAudio/PipeWire), else a clear error."""
    for d in input_devices():
        if "monitor" in d["name"].lower() or "loopback" in d["name"].lower():
            return int(d["index"])
    raise AudioDeviceError(LOOPBACK_HELP + f" ({_inputs_text()})")


def default_source_spec() -> str:
    """"mic" when this machine has an input device, else "demo" (so the app always starts)."""
    try:
        return "mic" if input_devices() and default_input_index() >= 0 else "demo"
    except AudioDeviceError:
        return "demo"


def device_name(index: int) -> str:
    return str(sounddevice().query_devices(index)["name"])


def negotiate_rate(index: int, wanted: int, channels: int, kind: str = "input") -> int:
    """`wanted` if the device accepts it, else the device's default rate (checked too)."""
    sd = sounddevice()
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    info = sd.query_devices(index)
    for rate in (int(wanted), int(info["default_samplerate"])):
        try:
            check(device=index, samplerate=rate, channels=channels, dtype="float32")
            return rate
        except Exception:
            continue
    raise AudioDeviceError(
        f"device {index} ({info['name']}) accepts neither {wanted} Hz nor its default "
        f"{info['default_samplerate']:.0f} Hz for {channels} {kind} channel(s)"
    )


class KeptStream:
    """A PortAudio stream that reopens itself when its device disappears.

    A watchdog thread checks every `check_s`: the stream counts as lost when PortAudio says it
    is no longer active or when `progress()` (a counter the callback advances) has not moved
    for `stall_s`. A lost stream is abandoned (closed on a throwaway daemon thread, because
    closing a stream whose server died can block forever) and `open_stream()` is retried every
    `retry_s`. Nothing here raises into the caller after `start()`; `.lost` and `.status` say
    what is going on. Only the first open, in `start()`, raises (the user asked for a device
    that does not work at all). Devices that were absent when PortAudio initialised are not
    seen until `refresh_devices()` (PortAudio enumerates once).
    """

    def __init__(self, open_stream: Callable[[], Any], progress: Callable[[], int], check_s: float = 0.25, stall_s: float = 1.0,
                 retry_s: float = 1.0) -> None:
        self._open = open_stream
        self._progress = progress
        self.check_s, self.stall_s, self.retry_s = check_s, stall_s, retry_s
        self.stream: Any = None
        self.lost = False
        self.reopened = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with _portaudio_turn():
            self.stream = self._open()
        try:
            self.stream.start()
        except Exception:
            _close_quietly(self.stream)
            self.stream = None
            raise
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="audio-watchdog", daemon=True)
        self._thread.start()

    def _abandon(self) -> None:
        old, self.stream = self.stream, None
        if old is not None:
            threading.Thread(target=_close_quietly, args=(old,), daemon=True).start()

    def _watch(self) -> None:
        import time

        last_count, last_move = self._progress(), time.perf_counter()
        while not self._stop.wait(self.check_s):
            now = time.perf_counter()
            count = self._progress()
            if count != last_count:
                last_count, last_move = count, now
            dead = self.stream is None or not self.stream.active
            if not dead and now - last_move < self.stall_s:
                continue
            self.lost = True
            self._abandon()
            try:
                with _portaudio_turn():
                    stream = self._open()
                stream.start()
            except Exception as e:  # device still gone: try again later
                self.last_error = str(e)
                self._stop.wait(self.retry_s)
                continue
            self.stream = stream
            self.lost = False
            self.reopened += 1
            last_count, last_move = self._progress(), time.perf_counter()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        stream, self.stream = self.stream, None
        if stream is not None:
            if stream.active:
                _close_quietly(stream)
            else:  # a stream whose server died can block in close: never wait for it
                threading.Thread(target=_close_quietly, args=(stream,), daemon=True).start()


def _close_quietly(stream: Any) -> None:
    try:
        with _portaudio_turn():
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)
    except Exception:
        pass
