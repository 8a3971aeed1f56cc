"""Paced sources (demo music, audio files) and playing audio out: real time, decoded, heard."""

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from synesthete_live.audio_input import open_source
from synesthete_live.sources import FileSource, PacedSource
from synesthete_live.synth import Synth

SR = 24_000


def collect(source, seconds: float) -> list[tuple[np.ndarray, float | None, float]]:
    chunks, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        time.sleep(1 / 60)
        audio, t = source.read()
        chunks.append((audio, t, time.perf_counter()))
    return chunks


def write_tone(path: Path, hz: float = 440.0, seconds: float = 0.3, rate: int = 44_100, amp: float = 0.5) -> Path:
    from torchcodec.encoders import AudioEncoder

    t = torch.arange(int(seconds * rate)) / rate
    stereo = (amp * torch.sin(2 * torch.pi * hz * t)).repeat(2, 1)  # (2, S)
    AudioEncoder(stereo, sample_rate=rate).to_file(str(path))
    return path


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spec) * rate / x.size)


class Counter:
    """A generator whose samples are their own index, so gaps and repeats show."""

    def __init__(self) -> None:
        self.pos = 0

    def __call__(self, n: int) -> np.ndarray:
        out = np.arange(self.pos, self.pos + n, dtype=np.float32) / 1e6
        self.pos += n
        return out


def test_paced_source_releases_audio_in_real_time_without_gaps():
    t_start = time.perf_counter()  # before the source starts: its clock cannot begin earlier
    with PacedSource("counter", SR, Counter(), block_size=256, play_out=False) as src:
        chunks = collect(src, 1.0)
        elapsed = time.perf_counter() - t_start
    audio = np.concatenate([c[0] for c in chunks])
    # Paced by the clock: never ahead of real time (a late release under load is not a failure
    # here; how late is a figure of `synesthete-bench live`).
    assert 0 < audio.size <= (elapsed + 0.001) * SR + 256
    np.testing.assert_allclose(np.diff(audio) * 1e6, 1.0, atol=1e-2)  # every sample, in order
    stamps = [t for _, t, _ in chunks[5:]]
    for audio_chunk, t, t_read in chunks[5:]:
        assert t is not None and t <= t_read  # stamped when it was released, never in the future
    assert stamps == sorted(stamps)
    assert src.overruns == 0 and src.status == "stopped"


def test_file_source_decodes_downmixes_resamples_and_loops(tmp_path):
    path = write_tone(tmp_path / "tone.wav", seconds=0.3)
    src = open_source(f"file:{path}", SR, play_out=False)
    assert isinstance(src, FileSource) and src.device_rate == 44_100 and src.name == "file:tone.wav"
    with src:
        chunks = collect(src, 1.0)
        assert src.status == "ok"
    audio = np.concatenate([c[0] for c in chunks])
    assert audio.size > 0.9 * SR  # three times the file's length: it looped
    assert abs(dominant_hz(audio[: SR // 2], SR) - 440) < 4
    assert abs(np.sqrt(np.mean(audio**2)) - 0.5 / np.sqrt(2)) < 0.02
    assert src.level > 0.3


def test_file_source_without_loop_ends(tmp_path):
    path = write_tone(tmp_path / "short.wav", seconds=0.2)
    with FileSource(path, SR, play_out=False, loop=False) as src:
        audio = np.concatenate([c[0] for c in collect(src, 0.5)])
        assert src.status == "ended"
    src.stop()  # stopping twice is harmless
    assert abs(audio.size - 0.2 * SR) < 256 and src.status == "ended"


def test_file_and_demo_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="file:PATH"):
        open_source("file:", SR)
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        open_source(f"file:{tmp_path / 'nope.wav'}", SR)
    junk = tmp_path / "notes.txt"
    junk.write_text("not audio")
    with pytest.raises(ValueError, match="cannot decode"):
        open_source(f"file:{junk}", SR)


def test_demo_source_plays_the_music_engine_in_real_time():
    src = open_source("demo", SR, play_out=False)
    t_start = time.perf_counter()  # before the source starts: its clock cannot begin earlier
    with src:
        chunks = collect(src, 1.0)
        elapsed = time.perf_counter() - t_start
        assert src.name == "demo" and src.status in ("ok", "no signal")
    audio = np.concatenate([c[0] for c in chunks])
    assert 0 < audio.size <= (elapsed + 0.001) * SR + 256  # paced: never ahead of real time
    assert np.isfinite(audio).all() and np.sqrt(np.mean(audio**2)) > 1e-3


def test_the_demo_source_knows_the_music_state_of_what_it_released():
    """music_state_at(capture time) is the state of the frame whose newest sample that is."""
    from synesthete.audio.stream import MusicStream

    src = open_source("demo", SR, play_out=False)
    with src:
        chunks = collect(src, 0.5)
        states = [(t, src.music_state_at(t)) for _, t, _ in chunks if t is not None]
        assert src.music_state_at(None) is None and src.music_state_at(time.perf_counter() + 60) is None
    reference = MusicStream(0)
    reference.read(SR * 4)
    truth = reference.music_state(60, 0, 180)
    assert len(states) > 10
    for t, state in states:
        assert state is not None and len(state) == 1
        k = int(round((t - src.clock_origin) * 60)) - 1
        assert float(state.time[0]) == pytest.approx((k + 1) / 60, abs=1e-5)
        assert state.env[0].tolist() == pytest.approx(truth.env[k].tolist(), abs=1e-6)
        assert float(state.beat_phase[0]) == pytest.approx(float(truth.beat_phase[k]), abs=1e-6)


@pytest.mark.jack
def test_file_source_is_heard_on_the_output(jack_server, audio_feeder, tmp_path):
    sink = audio_feeder(sink=True, seconds=0.3)
    path = write_tone(tmp_path / "loud.wav", seconds=0.5)
    with open_source(f"file:{path}", SR, play_out=True) as src:
        assert src.output is not None and src.output.device_rate == 48_000
        sink.listen_to("synesthete:out_")
        collect(src, 0.15)
        rms, peak = sink.record()
        collect(src, 0.05)
    assert abs(rms - 0.5 / np.sqrt(2)) < 0.05 and peak < 0.6


@pytest.mark.jack
def test_a_synth_on_a_mic_source_is_mixed_in_and_heard(jack_server, audio_feeder):
    sink = audio_feeder(sink=True, seconds=0.25)
    synth = Synth(SR, "keys")
    with open_source("system", SR) as src:  # nothing feeds the input: silence + synth
        src.attach_synth(synth)
        sink.listen_to("synesthete:out_")
        synth.note_on(69, 120)
        chunks = collect(src, 0.15)
        rms, _ = sink.record()
        chunks += collect(src, 0.05)
    audio = np.concatenate([c[0] for c in chunks])
    assert np.sqrt(np.mean(audio**2)) > 0.02  # the model hears the synth
    assert rms > 0.01  # and so does the player
