"""Session log: JSON lines beside a recording, readable after the app was killed mid-write."""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from synesthete.session_log import (
    FORMAT, VERSION, SessionLogError, SessionLogWriter, read_session_log, session_log_path,
)

HEADER = {"checkpoint": "ckpt/base.safetensors", "model_config": {"bridge": {"name": "gru", "hidden": 256}},
          "sample_rate": 24_000, "fps": 60, "width": 1280, "height": 720, "preset": "club"}


def test_the_log_of_a_recording_sits_beside_it():
    assert session_log_path("sets/out.mp4") == Path("sets/out.session.jsonl")


def test_header_and_events_round_trip(tmp_path: Path):
    path = tmp_path / "set.session.jsonl"
    with SessionLogWriter(path, HEADER) as log:
        log.log("preset", frame=0, t=0.0, name="club")
        log.log("control", frame=750, t=12.5, name="reactivity", value=0.8)
        log.log("midi", frame=751, t=12.516667, kind="note_on", note=36, velocity=100)
        log.log("marker", frame=1200, t=20.0, label="drop")
        assert log.events_written == 4
    session = read_session_log(path)
    assert session.header["format"] == FORMAT and session.header["version"] == VERSION
    assert session.header["created"]  # ISO timestamp added by the writer
    assert {k: session.header[k] for k in HEADER} == HEADER
    assert [(e.type, e.frame) for e in session.events] == [("preset", 0), ("control", 750), ("midi", 751),
                                                           ("marker", 1200)]
    control = session.of_type("control")[0]
    assert control.t == 12.5 and control.data == {"name": "reactivity", "value": 0.8}
    assert session.of_type("midi")[0].data["note"] == 36
    assert not session.truncated


def test_every_event_reaches_the_file_before_close(tmp_path: Path):
    # What a killed app leaves: the file as it is while the writer is still open.
    path = tmp_path / "live.session.jsonl"
    log = SessionLogWriter(path, HEADER)
    log.log("control", frame=3, t=0.05, name="hue", value=0.1)
    assert [e.frame for e in read_session_log(path).events] == [3]
    log.close()
    log.close()  # idempotent
    with pytest.raises(SessionLogError, match="closed"):
        log.log("marker", frame=4, t=0.06)


def test_a_torn_last_line_is_ignored_and_reported(tmp_path: Path):
    path = tmp_path / "killed.session.jsonl"
    with SessionLogWriter(path, HEADER) as log:
        for i in range(5):
            log.log("control", frame=i, t=i / 60, name="zoom", value=i)
    os.truncate(path, path.stat().st_size - 9)  # the app died while writing the last event
    session = read_session_log(path)
    assert [e.frame for e in session.events] == [0, 1, 2, 3]
    assert session.truncated


def test_a_broken_line_in_the_middle_is_an_error_naming_the_line(tmp_path: Path):
    path = tmp_path / "bad.session.jsonl"
    with SessionLogWriter(path, HEADER) as log:
        log.log("marker", frame=1, t=0.1)
    with path.open("a") as f:
        f.write("not json\n" + json.dumps({"t": 1, "frame": 60, "type": "marker"}) + "\n")
    with pytest.raises(SessionLogError, match=r"bad.session.jsonl: line 3 is not a session event"):
        read_session_log(path)


def test_reading_errors_name_the_file(tmp_path: Path):
    with pytest.raises(SessionLogError, match="nope.session.jsonl: no such session log"):
        read_session_log(tmp_path / "nope.session.jsonl")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"hello": 1}) + "\n")
    with pytest.raises(SessionLogError, match="other.jsonl: not a Synesthete session log"):
        read_session_log(other)
    other.write_text("\x00garbage")
    with pytest.raises(SessionLogError, match="not a Synesthete session log"):
        read_session_log(other)
    future = tmp_path / "future.session.jsonl"
    future.write_text(json.dumps({"format": FORMAT, "version": 99}) + "\n")
    with pytest.raises(SessionLogError, match="future.session.jsonl: session log version 99 is not supported"):
        read_session_log(future)


def test_bad_events_and_headers_are_refused_with_what_is_allowed(tmp_path: Path):
    with pytest.raises(SessionLogError, match="header needs 'sample_rate'"):
        SessionLogWriter(tmp_path / "a.session.jsonl", {"fps": 60})
    with pytest.raises(SessionLogError, match="cannot write session log"):
        SessionLogWriter(tmp_path / "missing" / "a.session.jsonl", HEADER)
    with SessionLogWriter(tmp_path / "b.session.jsonl", HEADER) as log:
        with pytest.raises(ValueError, match="unknown session event type 'cc'; use one of control, midi"):
            log.log("cc", frame=0, t=0.0)
        with pytest.raises(ValueError, match="frame must be an integer >= 0"):
            log.log("marker", frame=-1, t=0.0)
        with pytest.raises(ValueError, match="t must be seconds >= 0"):
            log.log("marker", frame=0, t=float("nan"))
        with pytest.raises(ValueError, match="payload is not JSON serialisable"):
            log.log("marker", frame=0, t=0.0, label=object())


def test_headers_may_carry_config_dataclasses_and_paths(tmp_path: Path):
    @dataclass(frozen=True)
    class Bridge:
        name: str = "gru"
        hidden: int = 128

    path = tmp_path / "cfg.session.jsonl"
    with SessionLogWriter(path, {**HEADER, "model_config": Bridge(), "checkpoint": tmp_path / "m.safetensors"}):
        pass
    header = read_session_log(path).header
    assert header["model_config"] == {"name": "gru", "hidden": 128}
    assert header["checkpoint"].endswith("m.safetensors")


def test_a_full_disk_ends_the_log_once_and_keeps_what_was_written(tiny_disk, fill_disk):
    path = tiny_disk / "set.session.jsonl"
    log = SessionLogWriter(path, {"sample_rate": 24000, "fps": 60})
    log.log("marker", 0, 0.0, label="before")
    fill_disk(tiny_disk)
    with pytest.raises(OSError) as info:
        for i in range(1, 10_000):  # the log's last page fills up, then the disk says no
            log.log("marker", i, i / 60, label="x" * 100)
    assert info.value.errno == errno.ENOSPC
    log.close()  # nothing left in a buffer to fail again
    with pytest.raises(SessionLogError, match="closed"):
        log.log("marker", 0, 0.0)
    read = read_session_log(path)
    assert read.events[0].data == {"label": "before"} and len(read.events) == log.events_written
