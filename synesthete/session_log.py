"""Session log: what the performer did during a recorded live set, as JSON lines beside the video.

A recording `set.mp4` gets `set.session.jsonl`. Line 1 is the header, a `SessionHeader` (the one
type the live loop writes and replay reads: rates, the hearing checkpoint by full path and
checksum, the looks in control order, recording and render sizes, and the control event that
recreates the controls the set started from, preset blend included); every further line is one
event stamped on the *audio clock*:

    {"t": 12.5, "frame": 750, "type": "control", "op": "set", "name": "reactivity", "value": 0.8}

`t` is seconds since the recording started (samples recorded / sample_rate) and `frame` the index
of the model frame the event was applied before (frame t of the recording stands for the audio up
to (t + 1) / fps), so an offline replay can re-apply every control change, preset switch, render
size change and marker at the frame it happened live. The log lives in the core because offline
rendering reads it; the live app writes it.

Crash safety: each event is written and flushed to the OS as it is logged (one small write(2), a
few microseconds), so a killed app leaves every event but possibly a torn last line, which
`read_session_log` ignores. No fsync: an OS crash may lose the last seconds, a process crash not.
"""

from __future__ import annotations

import datetime as _dt
import dataclasses
import json
import threading
from pathlib import Path
from typing import Any

FORMAT = "synesthete-session"
VERSION = 1
EVENT_TYPES = ("control", "midi", "preset", "marker", "render")  # render: the live render size changed
RESERVED_KEYS = ("t", "frame", "type")


class SessionLogError(ValueError):
    """A session log cannot be written or read; the message names the file and the problem."""


def session_log_path(recording: str | Path) -> Path:
    """Where the log of a recording lives: `out.mp4` -> `out.session.jsonl`."""
    recording = Path(recording)
    return recording.with_name(recording.stem + ".session.jsonl")


@dataclasses.dataclass(frozen=True)
class SessionEvent:
    t: float  # seconds since the recording started, on the audio clock
    frame: int  # video frame index at that instant
    type: str  # one of EVENT_TYPES
    data: dict[str, Any]  # the payload: everything but t, frame and type


@dataclasses.dataclass(frozen=True)
class SessionLog:
    header: dict[str, Any]
    events: list[SessionEvent]
    truncated: bool = False  # the last line was torn (the app was killed mid-write) and dropped

    def of_type(self, type: str) -> list[SessionEvent]:
        return [e for e in self.events if e.type == type]


@dataclasses.dataclass(frozen=True)
class SessionHeader:
    """What a replay needs to know about a recorded set, beyond its events (line 1 of the log)."""

    sample_rate: int  # the hearing's audio rate: the recording's sound is at it
    fps: float  # model frames per second
    checkpoint: str | None  # absolute path of the hearing checkpoint; None: no model (the demo's score)
    checkpoint_name: str = ""  # its file name (or the label of what heard the set)
    checkpoint_sha256: str | None = None  # to find (and check) the same weights on another machine
    looks: tuple[str, ...] = ()  # the performer's looks, in the order of the style weights
    size: tuple[int, int] | None = None  # (width, height) of the recording
    render_size: tuple[int, int] | None = None  # (h, w) the looks drew at when the recording started
    start: dict[str, Any] | None = None  # ControlState.apply event that makes the starting controls
    preset: str = ""
    preset_path: str | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, header: dict[str, Any], path: str | Path = "session log") -> "SessionHeader":
        """The header of a log; logs from before this type (no `looks`, `start`...) read what they have."""
        try:
            size = header.get("size")
            render = header.get("render_size")
            start = header.get("start")
            if start is None and (header.get("controls") or header.get("style_weights")):
                start = {"op": "glide", "values": dict(header.get("controls") or {}), "seconds": 0.0,
                         "weights": header.get("style_weights") or None}
            return cls(
                sample_rate=int(header["sample_rate"]), fps=float(header["fps"]),
                checkpoint=header.get("checkpoint"), checkpoint_name=str(header.get("checkpoint_name") or ""),
                checkpoint_sha256=header.get("checkpoint_sha256"),
                looks=tuple(header.get("looks") or header.get("styles") or ()),
                size=None if size is None else (int(size[0]), int(size[1])),
                render_size=None if render is None else (int(render[0]), int(render[1])),
                start=start, preset=str(header.get("preset") or ""), preset_path=header.get("preset_path"),
                source=str(header.get("source") or ""))
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise SessionLogError(f"{path}: the header is not a Synesthete session header ({e!r})") from None


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file (a checkpoint: which weights heard the set)."""
    import hashlib

    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _to_json(value: Any) -> Any:
    # Let headers carry configs as they are: dataclasses, paths, tuples, numpy scalars.
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalar
        return value.item()
    if hasattr(value, "tolist") and callable(value.tolist):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class SessionLogWriter:
    """Append-only writer. `log()` is thread-safe (a lock held for one short write): the render
    loop and a MIDI thread may both log.

        with SessionLogWriter(session_log_path("set.mp4"), {"sample_rate": 24000, "fps": 60}) as log:
            log.log("control", frame=750, t=12.5, name="reactivity", value=0.8)
    """

    def __init__(self, path: str | Path, header: "SessionHeader | dict[str, Any]"):
        self.path = Path(path)
        if isinstance(header, SessionHeader):
            header = header.to_dict()
        if not isinstance(header, dict):
            raise SessionLogError(f"{self.path}: header must be a dict, got {type(header).__name__}")
        for key in ("sample_rate", "fps"):
            if key not in header:
                raise SessionLogError(f"{self.path}: header needs {key!r} (events are stamped in frames and "
                                      f"seconds); got keys {sorted(header)}")
        full = {"format": FORMAT, "version": VERSION,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), **header}
        try:
            line = json.dumps(full, default=_to_json)
        except TypeError as e:
            raise SessionLogError(f"{self.path}: header is not JSON serialisable: {e}") from None
        try:
            self._file = self.path.open("w", encoding="utf-8")
        except OSError as e:
            raise SessionLogError(f"{self.path}: cannot write session log: {e.strerror}") from None
        self.header = full
        self.events_written = 0
        self._lock = threading.Lock()
        try:
            self._write(line)
        except OSError as e:
            raise SessionLogError(f"{self.path}: cannot write session log: {e.strerror or e}") from None

    def _write(self, line: str) -> None:
        try:
            self._file.write(line + "\n")
            self._file.flush()  # to the OS now: survives the app being killed
        except OSError:
            # A failed write (ENOSPC: the disk is full) ends the log: close it now, so the line
            # stuck in the buffer is not retried (and raised again) by close(); the lines before
            # it are on disk, a torn last line is dropped by the reader.
            try:
                self._file.close()
            except OSError:
                pass
            raise

    def log(self, type: str, frame: int, t: float, **payload: Any) -> None:
        """Append one event; `payload` becomes the rest of the JSON object.

        A failed write raises its `OSError` (e.g. ENOSPC) once and closes the log; later calls
        raise `SessionLogError`.
        """
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown session event type {type!r}; use one of {', '.join(EVENT_TYPES)}")
        if int(frame) != frame or frame < 0:
            raise ValueError(f"frame must be an integer >= 0, got {frame!r}")
        if not t >= 0:
            raise ValueError(f"t must be seconds >= 0 since the recording started, got {t!r}")
        try:
            line = json.dumps({"t": round(float(t), 6), "frame": int(frame), "type": type, **payload},
                              default=_to_json)
        except TypeError as e:
            raise ValueError(f"session event payload is not JSON serialisable: {e}") from None
        with self._lock:
            if self._file.closed:
                raise SessionLogError(f"{self.path}: session log is closed")
            self._write(line)
            self.events_written += 1

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> "SessionLogWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()


def read_session_log(path: str | Path) -> SessionLog:
    """Read a session log; a torn last line (app killed mid-write) is dropped, not an error."""
    path = Path(path)
    if not path.is_file():
        raise SessionLogError(f"{path}: no such session log")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SessionLogError(f"{path}: cannot read session log: {e}") from None
    lines = text.split("\n")
    ends_clean = text.endswith("\n")
    if ends_clean:
        lines.pop()  # the empty string after the final newline
    not_a_log = f"{path}: not a Synesthete session log (line 1 must be a JSON header with format={FORMAT!r})"
    try:
        header = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        raise SessionLogError(not_a_log) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise SessionLogError(not_a_log)
    if header.get("version") != VERSION:
        raise SessionLogError(f"{path}: session log version {header.get('version')!r} is not supported "
                              f"(this Synesthete reads version {VERSION})")
    events: list[SessionEvent] = []
    truncated = False
    for i, line in enumerate(lines[1:], start=2):
        last = i == len(lines)
        try:
            obj = json.loads(line)
            event = SessionEvent(t=float(obj["t"]), frame=int(obj["frame"]), type=str(obj["type"]),
                                 data={k: v for k, v in obj.items() if k not in RESERVED_KEYS})
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            if last and not ends_clean:
                truncated = True  # torn final write: the app died while logging it
                break
            raise SessionLogError(f"{path}: line {i} is not a session event: {line[:80]!r}") from None
        events.append(event)
    return SessionLog(header=header, events=events, truncated=truncated)
