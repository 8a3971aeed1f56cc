"""Replaying a recorded live set: its session log turned into what `synesthete-render` needs.

A live recording `set.mp4` has a session log `set.session.jsonl` beside it (synesthete.session_log):
a `SessionHeader` (the hearing checkpoint by path and checksum, rates, looks, recording and render
sizes, the event that made the starting controls) and the events the live loop applied, stamped
with the model-frame index before which it applied them. `prepare_replay` reads both into a
`ReplayJob`: the recording's audio, the checkpoint, the starting `ControlState`, the events as
`(frame, event)` pairs, and the recording's frame count. `synesthete-render --replay` then drives
a fresh Performer with them, so the replay shows what the live window showed, up to what the aac
round trip of the recorded sound changes in what the hearing model hears.

What is replayed: "control" events (the `ControlState.apply` format the live loop logs: keys,
MIDI knobs, preset glides) and "render" events (the live render size changed; applied when the
replay draws at the live size, `--detail native`). MIDI notes and markers change nothing: the
notes are in the recorded audio. A set that switched hearing checkpoints through presets is
replayed with its first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from synesthete.audio_file import AudioFile
from synesthete.render import RenderError
from synesthete.session_log import SessionHeader


@dataclass
class ReplayJob:
    audio: AudioFile  # the recording's sound, streamed
    checkpoint: Path
    size: tuple[int, int] | None  # (width, height) of the live recording, if the header says
    render_size: tuple[int, int] | None  # (h, w) the live performer drew at when recording began
    header: SessionHeader
    events: list[tuple[int, dict]]  # (model frame, ControlState.apply event or a render_size op)
    n_frames: int | None  # video frames in the recording (the replay renders as many)

    def controls(self, looks: Iterable[str]):
        """The control state the set started from (the header's start event: the start preset's
        values and look blend), for a performer with these looks (they must be the live set's)."""
        from synesthete.controls import ControlState

        looks = tuple(looks)
        if self.header.looks and tuple(self.header.looks) != looks:
            raise RenderError(f"the live set drew with the looks {', '.join(self.header.looks)}; this replay's "
                              f"performer has {', '.join(looks)}: the blend weights would land on other looks")
        controls = ControlState(len(looks))
        if self.header.start:
            controls.apply(self.header.start)
        controls.settle()
        return controls


def replay_events(events) -> list[tuple[int, dict]]:
    """Session events -> (frame, event to apply before that model frame).

    Control events carry an `op` (the `ControlState.apply` format) or a plain name/value (a
    `set`); render events carry the render size the live loop switched to (`render_size`). MIDI
    notes, preset names and markers change nothing here: the notes are already in the recorded
    audio, and a knob or preset that moved a control was logged as that control event.
    """
    out = []
    for e in events:
        if e.type == "render" and e.data.get("op") == "render_size":
            out.append((e.frame, {"op": "render_size", "size": list(e.data["size"])}))
        elif "op" in e.data and e.type == "control":
            out.append((e.frame, dict(e.data)))
        elif e.type == "control" and "name" in e.data and "value" in e.data:
            out.append((e.frame, {"op": "set", "name": e.data["name"], "value": e.data["value"]}))
    return out


def find_checkpoint(header: SessionHeader, session: Path) -> Path:
    """The hearing checkpoint that heard the set: its logged path, else a file of that name next to
    the log, else the shipped default when its checksum matches; checked by checksum when logged."""
    from synesthete.checkpoint import DEFAULT_CHECKPOINT
    from synesthete.session_log import file_sha256

    if header.checkpoint is None:
        raise RenderError(f"{session}: the set was heard by {header.checkpoint_name or 'no model'} (the demo's "
                          "exact score), which a replay cannot hear again; pass --checkpoint PATH to replay it "
                          "with a hearing model")
    logged = Path(header.checkpoint)
    name = logged.name
    candidates = [logged, session.parent / name]
    if DEFAULT_CHECKPOINT.is_file():
        candidates.append(DEFAULT_CHECKPOINT)
    for candidate in candidates:
        if candidate.is_file() and (header.checkpoint_sha256 is None or file_sha256(candidate) == header.checkpoint_sha256):
            return candidate
    raise RenderError(f"{session}: the live set was heard by checkpoint {name!r} ({header.checkpoint}), which is not "
                      "found here (nor next to the log, nor as the shipped default with the same checksum); "
                      "pass --checkpoint PATH")


def prepare_replay(session: Path, recording: Path | None, checkpoint: str | None) -> ReplayJob:
    """Read a session log and find its recording (INPUT, or NAME.session.jsonl -> NAME.mp4)."""
    from synesthete.session_log import read_session_log

    log = read_session_log(session)
    header = SessionHeader.from_dict(log.header, session)
    if recording is None:
        base = session.name[: -len(".session.jsonl")] if session.name.endswith(".session.jsonl") else session.stem
        recording = session.with_name(base + ".mp4")
    audio = AudioFile(recording)
    ckpt = Path(checkpoint) if checkpoint is not None else find_checkpoint(header, session)
    return ReplayJob(audio, ckpt, header.size, header.render_size, header, replay_events(log.events),
                     recorded_frames(recording))


def recorded_frames(recording: Path) -> int | None:
    """Video frames in a recording (exact count from an index scan), None when it has no video."""
    from torchcodec.decoders import VideoDecoder

    try:
        return len(VideoDecoder(str(recording), seek_mode="exact"))
    except (RuntimeError, ValueError):
        return None
