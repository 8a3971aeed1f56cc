"""Replaying a recorded live set: its session log turned into what `synesthete-render` needs.

A live recording `set.mp4` has a session log `set.session.jsonl` beside it (synesthete.session_log):
a header (checkpoint, rates, recording size, starting controls) and the control events the live
loop applied, stamped with the model-frame index at which it applied them. `prepare_replay`
reads both into a `ReplayJob`: the recording's audio, the checkpoint, the starting
`ControlState`, the events as `(frame, ControlState.apply event)` pairs, and the recording's frame
count. `synesthete-render --replay` then drives a fresh Performer with them, so the replay shows
what the live window showed (to float rounding and the aac round trip of the recorded audio).

What is replayed: "control" events carrying an `op` (the `ControlState.apply` format the live
loop logs, preset glides included) or a plain `name`/`value` pair (a `set`). MIDI notes and
markers change nothing: the notes are in the recorded audio, and a MIDI CC that moved a control
was logged as that control event. The header's optional "render_size" ([h, w]) is the live
performer's render size (None: the model's native size).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from synesthete.audio_file import AudioFile
from synesthete.frame_size import parse_size
from synesthete.render import RenderError


@dataclass
class ReplayJob:
    audio: AudioFile  # the recording's sound, streamed
    checkpoint: Path
    size: tuple[int, int] | None  # (width, height) of the live recording, if the header says
    render_size: tuple[int, int] | None  # (h, w) the live performer rendered at (None: native)
    header: dict
    events: list[tuple[int, dict]]  # (model frame, ControlState.apply event)
    n_frames: int | None  # video frames in the recording (the replay renders as many)

    def controls(self, styles: Iterable[str]):
        """The control state the set started from: header "controls" (targets) and "style_weights"."""
        from synesthete.controls import ControlState

        styles = tuple(styles)
        weights = self.header.get("style_weights")
        return ControlState(len(styles), values=self.header.get("controls") or None,
                            style_weights=weights if weights else None)


def replay_events(events) -> list[tuple[int, dict]]:
    """Session events -> (frame, ControlState event). Control events carry an `op` (apply format) or a
    plain name/value (a `set`); preset events carry an `op` (their glide). MIDI notes and markers
    change nothing here: the notes are already in the recorded audio, and a MIDI CC that moved a
    control was logged as that control event.
    """
    out = []
    for e in events:
        if "op" in e.data and e.type in ("control", "preset"):
            out.append((e.frame, dict(e.data)))
        elif e.type == "control" and "name" in e.data and "value" in e.data:
            out.append((e.frame, {"op": "set", "name": e.data["name"], "value": e.data["value"]}))
    return out


def _header_size(header: dict) -> tuple[int, int] | None:
    size = header.get("size")
    if size is None:
        return None
    if isinstance(size, str):
        return parse_size(size)
    w, h = (int(v) for v in size)
    return w, h


def prepare_replay(session: Path, recording: Path | None, checkpoint: str | None) -> ReplayJob:
    """Read a session log and find its recording (INPUT, header "recording", or NAME.session.jsonl -> NAME.mp4)."""
    from synesthete.checkpoint import resolve_checkpoint
    from synesthete.session_log import read_session_log

    log = read_session_log(session)
    header = log.header
    if recording is None:
        named = header.get("recording")
        if named:
            recording = session.parent / Path(named).name
        else:
            base = session.name[: -len(".session.jsonl")] if session.name.endswith(".session.jsonl") else session.stem
            recording = session.with_name(base + ".mp4")
    audio = AudioFile(recording)
    ckpt = checkpoint if checkpoint is not None else header.get("checkpoint")
    if ckpt in ("", "default"):
        ckpt = None
    if ckpt is not None and not Path(ckpt).is_absolute() and not Path(ckpt).exists():
        ckpt = session.parent / ckpt  # a checkpoint logged relative to the recording folder
    if checkpoint is None and ckpt is not None and not Path(ckpt).is_file():
        raise RenderError(f"{session}: the live set used checkpoint {header.get('checkpoint')!r}, which is not "
                          "found here (nor next to the log); pass --checkpoint PATH")
    live_render = header.get("render_size")
    return ReplayJob(audio, resolve_checkpoint(ckpt, "pixel"), _header_size(header),
                     (int(live_render[0]), int(live_render[1])) if live_render else None,
                     header, replay_events(log.events), recorded_frames(recording))


def recorded_frames(recording: Path) -> int | None:
    """Video frames in a recording (exact count from an index scan), None when it has no video."""
    from torchcodec.decoders import VideoDecoder

    try:
        return len(VideoDecoder(str(recording), seek_mode="exact"))
    except (RuntimeError, ValueError):
        return None
