"""Replay that reproduces the set: record with the real live app (a preset with a look blend,
--render-size, keys, a MIDI knob and a switch to another blended preset mid-set), replay it with the real `synesthete-render --replay`,
and get the recording back to within a frame's shift."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torchcodec.decoders import VideoDecoder  # noqa: E402
from torchcodec.encoders import AudioEncoder  # noqa: E402

from synesthete.render_cli import main as render_main  # noqa: E402
from synesthete.session_log import SessionHeader, read_session_log, session_log_path  # noqa: E402
from synesthete_live.keys import key_constant  # noqa: E402
from synesthete_live.live_loop import LiveLoop, LiveOptions  # noqa: E402
from synesthete_live.window import pygame  # noqa: E402

SIZE = (128, 72)  # recording = live render size: the replay is compared pixel for pixel, no scaling


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    """Five seconds of kicks and a chord stab at 120 bpm, 48 kHz: something for the looks to follow."""
    rate, n = 48_000, 48_000 * 5
    t = np.arange(n) / rate
    x = 0.08 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 0.5 * t))
    for start in range(0, n, rate // 2):
        k = np.arange(min(8000, n - start))
        x[start : start + k.size] += 0.8 * np.sin(2 * np.pi * 55 * k / rate) * np.exp(-k / 2000)
    path = tmp_path_factory.mktemp("audio") / "set.flac"
    AudioEncoder(torch.from_numpy(np.clip(x, -1, 1).astype(np.float32))[None], sample_rate=rate).to_file(str(path))
    return path


def frames_of(path: Path) -> np.ndarray:
    d = VideoDecoder(str(path), dimension_order="NHWC")
    return d.get_frames_in_range(0, len(d)).data.numpy().astype(np.int16)


def within_a_frame(replay: np.ndarray, rec: np.ndarray) -> float:
    """Mean over frames of the smallest mean abs difference to the replay's frame 1 before, at or after."""
    n = min(len(replay), len(rec))
    out = []
    for t in range(1, n - 1):
        out.append(min(np.abs(replay[t + s] - rec[t]).mean() for s in (-1, 0, 1)))
    return float(np.mean(out))


@pytest.mark.jack
@pytest.mark.slow
def test_a_recorded_set_replays_to_within_a_frame(tiny_hearing_checkpoint, music, jack_server, midi_sender,
                                                 tmp_path):
    (tmp_path / "blend.toml").write_text('name = "Blend"\n[styles]\nplasma = 0.3\ntunnel = 0.7\n'
                                         '[controls]\nfeedback = 0.3\n[midi]\nhue = "cc:3"\n')
    (tmp_path / "b2.toml").write_text('name = "Other blend"\nblend_seconds = 0.5\n[styles]\nrings = 0.5\nflow = 0.5\n')
    rec = tmp_path / "set.mp4"
    loop = LiveLoop(LiveOptions(checkpoint=tiny_hearing_checkpoint, headless=True, play_out=False, size=(320, 180),
                                presets_dir=tmp_path, preset="blend", device=f"file:{music}", record=rec,
                                record_size=SIZE, render_size=(SIZE[1], SIZE[0]), duration=30.0,
                                midi_virtual="synesthete-replay-midi"))
    failure: list[BaseException] = []

    def script() -> None:
        try:
            while getattr(loop, "frames_made", 0) < 40:
                time.sleep(0.01)
            sender = midi_sender(to="synesthete-replay-midi")
            for key, at in (("m", 60), ("e", 100), ("right", 140)):  # mirror, zoom in, morph to the next look
                while loop.frames_made < at:
                    time.sleep(0.01)
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key_constant(key), mod=0, unicode="",
                                                     scancode=0))
            sender.send(0xB0, 3, 0)  # the knob picks hue up at its value ...
            sender.send(0xB0, 3, 90)  # ... and turns it
            while loop.frames_made < 170:
                time.sleep(0.01)
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key_constant("n"), mod=0, unicode="",
                                                 scancode=0))  # the next preset: another blend, glided to
            while loop.frames_made < 260 or loop.info.preset != "Other blend":
                time.sleep(0.01)
            sender.close()
        except BaseException as e:  # raised in the test's thread below
            failure.append(e)
        finally:
            loop.stop_requested = True

    driver = threading.Thread(target=script, daemon=True)
    driver.start()
    loop.run()
    driver.join(10)
    if failure:
        raise failure[0]

    log = read_session_log(session_log_path(rec))
    header = SessionHeader.from_dict(log.header)
    assert header.checkpoint == str(Path(tiny_hearing_checkpoint).resolve()) and header.checkpoint_sha256
    assert header.render_size == (SIZE[1], SIZE[0]) and header.size == SIZE
    weights = dict(zip(header.looks, header.start["weights"]))
    assert weights["plasma"] == pytest.approx(0.3) and weights["tunnel"] == pytest.approx(0.7)
    ops = [e.data.get("op") for e in log.events if e.type == "control"]
    assert "cycle" in ops or "set" in ops or "nudge" in ops, ops  # keys and the knob were logged
    assert [e.data["name"] for e in log.events if e.type == "preset"] == ["Other blend"]

    out = tmp_path / "replay.mp4"
    assert render_main(["--replay", str(session_log_path(rec)), "-o", str(out), "--detail", "native", "--quiet"]) == 0
    recorded, replayed = frames_of(rec), frames_of(out)
    assert replayed.shape == recorded.shape
    err = within_a_frame(replayed, recorded)
    half_second = float(np.abs(recorded[30:] - recorded[:-30]).mean())  # the set against itself, 0.5 s apart
    # Without what the old header lacked (the start's look blend), the replay is another picture.
    stripped = tmp_path / "stripped.session.jsonl"
    lines = session_log_path(rec).read_text().splitlines()
    head = json.loads(lines[0])
    head["start"]["weights"] = None
    stripped.write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
    blind = tmp_path / "blind.mp4"
    assert render_main(["--replay", str(stripped), str(rec), "-o", str(blind), "--detail", "native", "--quiet"]) == 0
    err_blind = within_a_frame(frames_of(blind), recorded)
    print(f"replay error {err:.2f}, without the blend {err_blind:.2f}, half-second shift {half_second:.2f}")
    assert err < 0.35 * half_second and err < 0.35 * err_blind
