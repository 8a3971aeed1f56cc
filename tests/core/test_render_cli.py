"""synesthete-render: a file in, an mp4 out with the original audio, frame-exact with the streaming path."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from synesthete.checkpoint import load_model, save_checkpoint
from synesthete.controls import ControlState
from synesthete.model.config import hearing_config
from synesthete.model.hearing import build_hearing_model
from synesthete.mp4_writer import Mp4Writer
from synesthete.performer import Performer, render_clip, usable_looks
from synesthete.audio_file import DecodedAudio, decode_audio, to_model_audio
from synesthete.render import RenderError, render_to_mp4
from synesthete.render_cli import main
from synesthete.replay import prepare_replay
from synesthete.session_log import SessionLogWriter, session_log_path

SR_FILE = 44_100
MODEL_SR, FPS, HOP = 24_000, 60, 400


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, build_hearing_model(hearing_config("tiny")))
    return path


def controls_for(model, **values) -> ControlState:
    """Controls with one morph weight per look this hearing's performer offers."""
    return ControlState(len(usable_looks(model.cfg)), values or None)


def clicks(seconds: float, sample_rate: int, times=(0.2, 0.6, 1.0)) -> np.ndarray:
    """Stereo (2, N): a quiet tone with loud 5 ms clicks, the right channel at half level."""
    n = int(seconds * sample_rate)
    mono = 0.05 * np.sin(2 * np.pi * 330 * np.arange(n) / sample_rate)
    for t in times:
        mono[int(t * sample_rate) : int(t * sample_rate) + sample_rate // 200] = 0.8
    return np.stack([mono, 0.5 * mono]).astype(np.float32)


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(audio.shape[0])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes((audio.T * 32767).astype("<i2").tobytes())
    return path


def read_video(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from torchcodec.decoders import VideoDecoder

    d = VideoDecoder(str(path), dimension_order="NHWC")
    batch = d.get_frames_in_range(0, len(d))
    return batch.data.numpy(), batch.pts_seconds.numpy()


def test_render_a_wav_gives_video_and_the_original_audio_in_sync(tmp_path, checkpoint, capsys):
    from torchcodec.decoders import AudioDecoder

    wav = write_wav(tmp_path / "clicks.wav", clicks(1.5, SR_FILE), SR_FILE)
    out = tmp_path / "clicks.mp4"
    assert main([str(wav), "-o", str(out), "--checkpoint", str(checkpoint), "--size", "64x48", "--quiet"]) == 0
    assert "real time" in capsys.readouterr().out
    frames, pts = read_video(out)
    assert frames.shape == (90, 48, 64, 3)  # 1.5 s at 60 fps
    sound = AudioDecoder(str(out)).get_all_samples()
    assert (sound.sample_rate, sound.data.shape[0]) == (SR_FILE, 2)  # the original rate and channels
    assert abs(sound.data.shape[1] / SR_FILE - 90 / FPS) <= 1 / FPS
    # In sync: the sound starts at 0 s, frame t is stamped at the instant it stands for, (t + 1) / 60.
    assert abs(sound.pts_seconds) < 1e-6 and np.allclose(pts, np.arange(1, 91) / FPS, atol=1e-6)
    # The clicks are where they were in the file (aac priming is hidden by the decoder).
    left = sound.data[0].numpy()
    first_loud = np.argmax(np.abs(left[int(0.5 * SR_FILE) : int(0.8 * SR_FILE)]) > 0.4)
    assert abs(first_loud / SR_FILE - 0.1) < 0.001
    assert list(tmp_path.iterdir()) and not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_render_equals_the_performer_streaming_frames(tmp_path, checkpoint):
    wav = write_wav(tmp_path / "clicks.wav", clicks(1.0, SR_FILE), SR_FILE)
    model = load_model(checkpoint)
    audio = decode_audio(wav)
    written: list[np.ndarray] = []
    stats = render_to_mp4(model, audio, tmp_path / "r.mp4", (64, 64), controls=controls_for(model, hue=0.3),
                          progress=False, on_frames=written.append)
    rendered = np.concatenate(written)
    model_audio = to_model_audio(audio, MODEL_SR)
    streamed = render_clip(Performer(model, render_size=(64, 64)), np.pad(model_audio, (0, -len(model_audio) % HOP)),
                           controls_for(model, hue=0.3))
    assert stats.frames == len(streamed) == 60
    # Equal up to float rounding: chunked and hop-by-hop feature batches may flip a level here and there.
    diff = np.abs(rendered.astype(int) - streamed)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-4
    decoded, _ = read_video(tmp_path / "r.mp4")  # h264 is lossy, but close
    assert np.abs(decoded.astype(float) - streamed).mean() < 6


def test_native_frames_are_fitted_to_the_output_like_the_live_window(tmp_path, checkpoint):
    import cv2

    wav = write_wav(tmp_path / "clicks.wav", clicks(0.5, SR_FILE), SR_FILE)
    model = load_model(checkpoint)
    got: list[np.ndarray] = []
    render_to_mp4(model, decode_audio(wav), tmp_path / "w.mp4", (128, 72), progress=False, on_frames=got.append,
                  render_size=(64, 64))
    square: list[np.ndarray] = []
    render_to_mp4(model, decode_audio(wav), tmp_path / "s.mp4", (64, 64), progress=False, on_frames=square.append)
    # Cover fit: a 64x64 frame loses its top and bottom (rows 14..49 stay: 36 = 64 * 72 / 128), then bilinear.
    expected = [cv2.resize(np.ascontiguousarray(f[14:50]), (128, 72), interpolation=cv2.INTER_LINEAR)
                for f in np.concatenate(square)]
    assert np.array_equal(np.concatenate(got), np.stack(expected))


def test_output_fps_picks_the_newest_model_frame(tmp_path, checkpoint):
    wav = write_wav(tmp_path / "clicks.wav", clicks(1.0, SR_FILE), SR_FILE)
    model = load_model(checkpoint)
    full, half = [], []
    render_to_mp4(model, decode_audio(wav), tmp_path / "a.mp4", (64, 64), progress=False, on_frames=full.append)
    render_to_mp4(model, decode_audio(wav), tmp_path / "b.mp4", (64, 64), fps=30, progress=False, on_frames=half.append)
    full, half = np.concatenate(full), np.concatenate(half)
    assert half.shape[0] == 30 and np.array_equal(half, full[1::2])  # 30 fps frame k = model frame 2k + 1
    assert len(read_video(tmp_path / "b.mp4")[0]) == 30


def record_live_set(tmp_path: Path, checkpoint: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Play a set 'live': irregular audio blocks, scripted control changes logged as they happen.

    Returns the session log, the frames the live window showed, and the audio the model heard.
    """
    model = load_model(checkpoint)
    performer = Performer(model, render_size=(48, 64))
    controls = controls_for(model, reactivity=1.2)
    audio = clicks(2.0, MODEL_SR, times=(0.3, 0.7, 1.1, 1.5))[0]
    script = {40: {"op": "set", "name": "hue", "value": 0.5}, 70: {"op": "set", "name": "style", "value": 1.0},
              90: {"op": "set", "name": "mirror", "value": 2}}
    recording = tmp_path / "set.mp4"
    header = {"sample_rate": MODEL_SR, "fps": FPS, "checkpoint": str(checkpoint), "size": [64, 48],
              "controls": {"reactivity": 1.2}}
    frames = []
    with SessionLogWriter(session_log_path(recording), header) as log, \
            Mp4Writer(recording, 64, 48, FPS, MODEL_SR) as writer:
        pos, block = 0, 333  # a sound card's block size, not a multiple of the hop
        while pos < audio.size:
            for f in sorted(f for f in script if f <= performer.frames_done):
                event = script.pop(f)
                controls.apply(event)
                # Log one event in the apply format and the others as plain name/value pairs.
                data = event if event["name"] == "hue" else {"name": event["name"], "value": event["value"]}
                log.log("control", frame=performer.frames_done, t=performer.frames_done / FPS, **data)
            for fr in performer.process(audio[pos : pos + block], controls):
                frames.append(fr.image)
                writer.write_frames(fr.image)
            writer.write_audio(audio[pos : pos + block])
            pos += block
    return session_log_path(recording), np.stack(frames), audio


def replay_frames(job, audio: DecodedAudio, out: Path, events=None) -> np.ndarray:
    model = load_model(job.checkpoint)
    got: list[np.ndarray] = []
    render_to_mp4(model, audio, out, job.size, controls=job.controls(usable_looks(model.cfg)),
                  events=job.events if events is None else events, progress=False, full_detail=True,
                  n_frames=job.n_frames, on_frames=got.append)
    return np.concatenate(got).astype(int)


def test_replay_equals_the_live_frames(tmp_path, checkpoint):
    log, live, heard = record_live_set(tmp_path, checkpoint)
    job = prepare_replay(log, None, None)
    assert [e[0] for e in job.events] == [40, 70, 90] and job.size == (64, 48) and job.n_frames == len(live)
    # With the audio the model heard, the replay is the live set to float rounding.
    exact = replay_frames(job, DecodedAudio(heard[None], MODEL_SR, log), tmp_path / "a.mp4")
    assert exact.shape == live.shape
    assert np.abs(exact - live).max() <= 1
    # From the recording's audio (aac, lossy) nearly every frame stays within a few levels of 255
    # (the music state has discrete parts, a hit threshold or a chord's argmax, that the lossy audio
    # may flip for a frame or two) ...
    replay = replay_frames(job, job.audio, tmp_path / "b.mp4")
    err = np.abs(replay - live).mean(axis=(1, 2, 3))  # (T,)
    assert np.median(err) < 1.0
    # ... while the logged control events matter far more: leave them out and the picture departs.
    blind = replay_frames(job, job.audio, tmp_path / "c.mp4", events=[])
    assert np.median(np.abs(blind - live)[45:].mean(axis=(1, 2, 3))) > 3 * np.median(err[45:])


def test_replay_cli_at_a_higher_resolution(tmp_path, checkpoint):
    log, live, _ = record_live_set(tmp_path, checkpoint)
    out = tmp_path / "replay-big.mp4"
    assert main(["--replay", str(log), "-o", str(out), "--size", "128x96", "--quiet"]) == 0
    frames, _ = read_video(out)
    assert frames.shape == (len(live), 96, 128, 3)


def no_output_left(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.suffix == ".mp4" or "partial" in p.name]


@pytest.mark.parametrize("case", ["missing", "empty", "text", "video_without_audio"])
def test_bad_input_is_one_clear_error_and_no_output(tmp_path, checkpoint, capsys, case):
    src = tmp_path / "in"
    src.mkdir()
    path = {"missing": src / "nope.wav", "empty": src / "empty.wav", "text": src / "notes.txt",
            "video_without_audio": src / "silent.mp4"}[case]
    if case == "empty":
        path.touch()
    elif case == "text":
        path.write_text("this is not audio\n")
    elif case == "video_without_audio":
        with Mp4Writer(path, 32, 32, 30) as w:
            w.write_frames(np.zeros((10, 32, 32, 3), np.uint8))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = main([str(path), "-o", str(out_dir / "x.mp4"), "--checkpoint", str(checkpoint), "--quiet"])
    err = capsys.readouterr().err
    assert code != 0
    expected = {"missing": "no such file", "empty": "empty", "text": "not a readable audio",
                "video_without_audio": "no audio stream"}[case]
    assert expected in err and str(path) in err and "Traceback" not in err
    assert no_output_left(out_dir)


def test_a_failure_mid_render_deletes_the_partial_file(tmp_path, checkpoint):
    wav = write_wav(tmp_path / "clicks.wav", clicks(1.0, SR_FILE), SR_FILE)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(ValueError, match="unknown control event op"):
        render_to_mp4(load_model(checkpoint), decode_audio(wav), out_dir / "x.mp4", (64, 64),
                      events=[(45, {"op": "explode"})], progress=False)
    assert no_output_left(out_dir)


def test_a_failure_on_the_encoder_thread_reaches_the_caller(tmp_path, checkpoint):
    # Scaling and encoding run on their own thread: an error there (here from the frames' consumer,
    # as a full disk would come from the writer) is raised to the caller unchanged, the render
    # stops, and no partial file stays.
    wav = write_wav(tmp_path / "clicks.wav", clicks(2.0, SR_FILE), SR_FILE)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    seen: list[int] = []

    def consumer(frames: np.ndarray) -> None:
        seen.append(frames.shape[0])
        if sum(seen) > 40:
            raise OSError(28, "No space left on device")

    with pytest.raises(RenderError, match="No space left on device"):
        render_to_mp4(load_model(checkpoint), decode_audio(wav), out_dir / "x.mp4", (64, 64), progress=False,
                      on_frames=consumer)
    assert 40 < sum(seen) < 120 and no_output_left(out_dir)


def test_missing_default_checkpoint_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import synesthete.checkpoint as ck

    monkeypatch.setattr(ck, "DEFAULT_CHECKPOINT", tmp_path / "none.pt")
    wav = write_wav(tmp_path / "c.wav", clicks(0.5, SR_FILE), SR_FILE)
    assert main([str(wav), "-o", str(tmp_path / "o.mp4"), "--quiet"]) == 1
    assert "checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.slow
def test_bench_part_reports_the_720p_realtime_factor():
    import argparse

    from synesthete.bench.render import register

    part = register()
    assert part.name == "render"
    figures = part.run(argparse.Namespace(quick=True, threads=1))
    assert figures["realtime_factor_720p"] > 0 and figures["size"] == "1280x720"
    # Both halves of the render did work: the drawing thread and the encoder side.
    assert figures["cpu_ms_per_frame_720p_drawing"] > 0 and figures["cpu_ms_per_frame_720p_encoding"] > 0


def test_preset_sets_the_starting_controls(tmp_path, checkpoint):
    from synesthete.preset import PresetError, load_preset, preset_controls

    model = load_model(checkpoint)
    preset = tmp_path / "warm.toml"
    preset.write_text('name = "warm"\n[styles]\nrings = 1.0\n[controls]\nhue = 0.25\nfeedback = 0.5\n[midi]\nhue = "cc:21"\n')
    looks = usable_looks(model.cfg)
    controls = preset_controls(load_preset(preset), looks)
    assert controls.value["hue"] == 0.25 and controls.value["feedback"] == 0.5
    assert controls.style_weights.tolist() == [float(n == "rings") for n in looks]  # the look pinned
    preset.write_text("[styles]\nneon = 1.0\n")
    with pytest.raises(PresetError, match="neon"):
        preset_controls(load_preset(preset), looks)
