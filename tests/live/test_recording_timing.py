"""Timing of a live recording, through the real `synesthete-live --record`: the sound the model
heard is in the file at its source time (no aac priming before it), and the video runs at a
constant 60 fps with frame t stamped at (t + 1) / 60, as `synesthete-render` writes it. A header
stamped while the show runs is what a killed show leaves behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from torchcodec.decoders import AudioDecoder

from synesthete.audio_file import read_model_audio
from synesthete.mp4_writer import Mp4Writer, trim_partial_fragment

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "core"))
from test_render_timing import CLICKS, click_track  # noqa: E402


def ffprobe_streams(path: Path) -> dict[str, dict]:
    done = subprocess.run(["ffprobe", "-v", "error", "-of", "json", "-show_entries",
                           "stream=codec_type,r_frame_rate,avg_frame_rate,start_time", str(path)],
                          capture_output=True, text=True, check=True)
    return {s["codec_type"]: s for s in json.loads(done.stdout)["streams"]}


@pytest.mark.slow
def test_a_live_recording_keeps_the_sound_at_its_time_and_a_constant_frame_rate(tmp_path, tiny_hearing_checkpoint):
    wav = tmp_path / "clicks.wav"
    click_track(wav, CLICKS, seconds=2.0)
    out = tmp_path / "set.mp4"
    env = dict(os.environ, SDL_VIDEODRIVER="dummy")
    done = subprocess.run([sys.executable, "-m", "synesthete_live.cli", "--device", f"file:{wav}", "--headless",
                           "--duration", "2.5", "--record", str(out), "--record-size", "64x48",
                           "--checkpoint", tiny_hearing_checkpoint], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    streams = ffprobe_streams(out)
    assert streams["video"]["r_frame_rate"] == streams["video"]["avg_frame_rate"] == "60/1"
    assert float(streams["video"]["start_time"]) == pytest.approx(1 / 60, abs=1e-6)
    sound = AudioDecoder(str(out)).get_all_samples()
    assert sound.sample_rate == 24_000 and abs(sound.pts_seconds) < 1e-6
    # The recording's sound is what the model heard from the file's start: aligned to the sample.
    recorded, heard = sound.data.numpy()[0], read_model_audio(wav, 24_000)
    n = min(recorded.size, heard.size)
    lags = np.arange(-1100, 1101)
    score = [np.dot(recorded[max(0, k) : n + min(0, k)], heard[max(0, -k) : n - max(0, k)]) for k in lags]
    assert abs(lags[int(np.argmax(score))]) <= 1


def test_the_header_is_stamped_while_the_recording_runs(tmp_path):
    """What a kill -9 leaves: a file whose header already has both edit lists."""
    path = tmp_path / "running.mp4"
    writer = Mp4Writer(path, 64, 48, 60, sample_rate=24_000)
    for _ in range(150):  # 2.5 s: two fragments are on the disk, a third is being built
        writer.write_frames(np.zeros((1, 48, 64, 3), np.uint8))
        writer.write_audio(np.zeros(400, np.float32))
    killed = tmp_path / "killed.mp4"
    killed.write_bytes(path.read_bytes())  # the file as a kill would leave it
    writer.close()
    trim_partial_fragment(killed)
    streams = ffprobe_streams(killed)
    assert float(streams["video"]["start_time"]) == pytest.approx(1 / 60, abs=1e-6)
    assert streams["video"]["avg_frame_rate"] == "60/1"
    assert abs(AudioDecoder(str(killed)).get_all_samples().pts_seconds) < 1e-6
