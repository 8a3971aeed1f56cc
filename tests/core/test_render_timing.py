"""Timing in the files we write, through the real `synesthete-render`: a click track's audio
decodes at its source time, the picture reacts on the frame stamped at or just after each click,
and the video runs at a constant 60 fps from its first frame (what ffprobe and OpenCV read)."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from torchcodec.decoders import AudioDecoder, VideoDecoder

from synesthete.render_cli import main

RATE, FPS = 44_100, 60
# Clicks half-way between frame instants (frame t stands for (t + 1) / 60 s): the resampler's
# pre-ringing (well under a millisecond) then cannot reach the frame before.
CLICKS = (12.5 / FPS, 36.5 / FPS, 60.5 / FPS)


def click_track(path: Path, clicks, seconds: float = 1.3) -> np.ndarray:
    """Stereo 16-bit wav: a quiet tone with a 2 ms full-scale click at each time; returns (2, N) float."""
    n = int(seconds * RATE)
    mono = 0.05 * np.sin(2 * np.pi * 330 * np.arange(n) / RATE)
    for t in clicks:
        mono[round(t * RATE) : round(t * RATE) + RATE // 500] = 0.9
    audio = np.stack([mono, 0.5 * mono])
    pcm = (audio.T * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return pcm.T.astype(np.float32) / 32767


def render(tmp_path: Path, checkpoint, name: str, clicks) -> tuple[Path, np.ndarray]:
    wav = tmp_path / f"{name}.wav"
    source = click_track(wav, clicks)
    out = tmp_path / f"{name}.mp4"
    assert main([str(wav), "-o", str(out), "--checkpoint", str(checkpoint), "--size", "64x48", "--quiet"]) == 0
    return out, source


def ffprobe(path: Path, *args: str) -> dict:
    done = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args, str(path)], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def checkpoint(tiny_hearing_checkpoint):
    return tiny_hearing_checkpoint


def test_decoded_audio_is_at_its_source_time(tmp_path, checkpoint):
    out, source = render(tmp_path, checkpoint, "clicks", CLICKS)
    sound = AudioDecoder(str(out)).get_all_samples()
    assert sound.sample_rate == RATE and abs(sound.pts_seconds) < 0.5 / RATE  # sample 0 plays at 0 s
    decoded = sound.data.numpy()[0]
    ref = source[0]
    n = min(decoded.size, ref.size)
    # The lag that best aligns the decoded sound with the source (aac priming would make it 1024).
    lags = np.arange(-1200, 1201)
    score = [np.dot(decoded[max(0, k) : n + min(0, k)], ref[max(0, -k) : n - max(0, k)]) for k in lags]
    assert abs(lags[int(np.argmax(score))]) <= 1
    for t in CLICKS:  # each click's onset, found in the decoded sound, within 2 samples of the source's
        c = round(t * RATE)
        onset = c - 50 + int(np.argmax(decoded[c - 50 : c + 50] > 0.45))
        assert abs(onset - c) <= 2, (t, onset - c)


def test_the_picture_reacts_on_the_frame_stamped_at_or_just_after_each_click(tmp_path, checkpoint):
    # Renders that differ only from click i on: the first frame that differs is the reaction.
    frames, stamps = [], None
    for i in range(len(CLICKS) + 1):
        out, _ = render(tmp_path, checkpoint, f"c{i}", CLICKS[:i])
        batch = VideoDecoder(str(out)).get_frames_in_range(0, 78)
        frames.append(batch.data.numpy().astype(np.int16))
        stamps = batch.pts_seconds.numpy()
    np.testing.assert_allclose(stamps, (np.arange(78) + 1) / FPS, atol=1e-6)  # frame t at (t + 1) / fps
    for i, t in enumerate(CLICKS):
        diff = np.abs(frames[i + 1] - frames[i]).mean(axis=(1, 2, 3))  # (T,)
        first = int(np.argmax(diff > 0.5))  # the first visible reaction
        # Before it at most a few pixels one level off (< 0.1 mean): a linear-phase resampler rings
        # a little ahead of a full-scale click, and the hearing hears that faintly.
        assert diff[first] > 0.5 and (diff[:first] < 0.1).all(), (t, diff[: first + 2])
        assert t <= stamps[first] < t + 1 / FPS, (t, stamps[first])


def test_the_video_runs_at_a_constant_rate_from_its_first_frame(tmp_path, checkpoint):
    import cv2

    out, _ = render(tmp_path, checkpoint, "rate", CLICKS)
    video = ffprobe(out, "-select_streams", "v", "-show_entries", "stream=r_frame_rate,avg_frame_rate,start_time")
    assert video["streams"][0]["r_frame_rate"] == video["streams"][0]["avg_frame_rate"] == "60/1"
    assert float(video["streams"][0]["start_time"]) == pytest.approx(1 / FPS, abs=1e-6)
    packets = ffprobe(out, "-select_streams", "v", "-show_entries", "packet=pts_time,duration_time")["packets"]
    pts = np.array(sorted(float(p["pts_time"]) for p in packets))
    np.testing.assert_allclose(pts, (np.arange(len(pts)) + 1) / FPS, atol=1e-6)
    assert {round(float(p["duration_time"]), 6) for p in packets} == {round(1 / FPS, 6)}
    capture = cv2.VideoCapture(str(out))
    assert capture.get(cv2.CAP_PROP_FPS) == 60.0
    capture.release()
