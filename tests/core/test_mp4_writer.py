"""Mp4Writer: real h264 + aac files, read back with ffprobe and TorchCodec's decoders."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torchcodec.decoders import AudioDecoder, VideoDecoder

from synesthete.mp4_writer import Mp4Writer, RecordingError, trim_partial_fragment

W, H, FPS, SR = 320, 180, 30, 24_000
SPF = SR // FPS  # audio samples per video frame


def moving_frame(i: int, w: int = W, h: int = H) -> np.ndarray:
    """(H, W, 3) uint8: diagonal bands that move by 4 px per frame."""
    yy, xx = np.mgrid[0:h, 0:w]
    band = ((xx + yy + 4 * i) % 64) * 3
    return np.stack([band, 255 - band, np.full_like(band, 60)], -1).astype(np.uint8)


def tone(n: int, start: int = 0, freq: float = 440.0) -> np.ndarray:
    t = (np.arange(n) + start) / SR
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format",
                          "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def top_level_boxes(path: Path) -> list[tuple[bytes, int, int]]:
    """[(type, offset, size)] of the mp4's top-level boxes."""
    data = path.read_bytes()
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[pos + 8:pos + 16])
        boxes.append((kind, pos, size))
        pos += size
    return boxes


def write_clip(path: Path, seconds: float = 2.0) -> None:
    n = int(seconds * FPS)
    with Mp4Writer(path, W, H, FPS, SR) as w:
        for i in range(n):
            w.write_frames(moving_frame(i))
            w.write_audio(tone(SPF, i * SPF))


def test_writes_h264_video_and_aac_audio_that_ffprobe_reads(tmp_path: Path):
    path = tmp_path / "clip.mp4"
    write_clip(path, 2.0)
    info = ffprobe(path)
    streams = {s["codec_type"]: s for s in info["streams"]}
    assert streams["video"]["codec_name"] == "h264"
    assert streams["video"]["pix_fmt"] == "yuv420p"
    assert streams["video"]["r_frame_rate"] == "30/1"
    assert (streams["video"]["width"], streams["video"]["height"]) == (W, H)
    assert int(streams["video"]["nb_read_frames"]) == 60
    assert streams["audio"]["codec_name"] == "aac"
    assert int(streams["audio"]["sample_rate"]) == SR
    assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.1)


def test_decoders_read_back_every_frame_and_audio_as_long_as_the_video(tmp_path: Path):
    path = tmp_path / "clip.mp4"
    write_clip(path, 2.0)
    video = VideoDecoder(str(path))
    assert len(video) == 60
    frames = video.get_frames_in_range(0, 60).data  # (60, 3, H, W)
    expected = torch.from_numpy(np.stack([moving_frame(i) for i in range(60)])).permute(0, 3, 1, 2)
    assert (frames.float() - expected.float()).abs().mean() < 6  # lossy, but the same pictures
    audio = AudioDecoder(str(path)).get_all_samples()
    assert audio.sample_rate == SR
    video_seconds = len(video) / FPS
    assert abs(audio.duration_seconds - video_seconds) < 1 / FPS
    assert audio.data.abs().max() == pytest.approx(0.3, abs=0.05)  # the tone is there


def test_a_flash_frame_and_an_audio_click_at_the_same_instant_line_up_after_decoding(tmp_path: Path):
    path = tmp_path / "sync.mp4"
    flash = 45  # frame index of the white flash; the click starts that frame's audio
    with Mp4Writer(path, W, H, FPS, SR) as w:
        for i in range(90):
            w.write_frames(np.full((H, W, 3), 255 if i == flash else 30, np.uint8))
            chunk = np.zeros(SPF, np.float32)
            if i == flash:
                chunk[:24] = 0.9  # 1 ms click
            w.write_audio(chunk)
    video = VideoDecoder(str(path))
    decoded = video.get_frames_in_range(0, len(video))
    brightest = int(decoded.data.float().mean(dim=(1, 2, 3)).argmax())
    assert brightest == flash
    flash_time = float(decoded.pts_seconds[brightest])
    audio = AudioDecoder(str(path)).get_all_samples()
    click_time = audio.pts_seconds + int(audio.data.abs().sum(0).argmax()) / audio.sample_rate
    assert abs(flash_time - click_time) < 1 / FPS


def test_the_file_is_a_fragmented_mp4_with_one_fragment_per_second(tmp_path: Path):
    path = tmp_path / "frag.mp4"
    write_clip(path, 3.0)
    kinds = [k for k, _, _ in top_level_boxes(path)]
    assert kinds[:2] == [b"ftyp", b"moov"]  # header first: readable before the file is finished
    assert kinds.index(b"moov") < kinds.index(b"mdat")
    assert kinds.count(b"moof") == kinds.count(b"mdat") == 3  # 90 frames, a keyframe every 30
    keyframes = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=key_frame",
         "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout.split()
    assert [i for i, k in enumerate(keyframes) if k.startswith("1")] == [0, 30, 60]


def test_accepts_numpy_hwc_and_torch_nchw_batches_and_counts_what_it_wrote(tmp_path: Path):
    path = tmp_path / "layouts.mp4"
    with Mp4Writer(path, W, H, FPS, SR) as w:
        w.write_frames(np.stack([moving_frame(i) for i in range(10)]))  # (10, H, W, 3)
        w.write_frames(torch.from_numpy(np.stack([moving_frame(i) for i in range(10, 20)])).permute(0, 3, 1, 2))
        w.write_frames(moving_frame(20))  # one frame, no batch axis
        w.write_audio(np.stack([tone(SPF * 21)]))  # (1, n)
        assert w.frames_written == 21
        assert w.audio_seconds_written == pytest.approx(21 / FPS)
    assert len(VideoDecoder(str(path))) == 21


def test_close_pads_short_audio_so_both_streams_end_together_and_is_idempotent(tmp_path: Path):
    path = tmp_path / "pad.mp4"
    w = Mp4Writer(path, W, H, FPS, SR)
    w.write_frames(np.stack([moving_frame(i) for i in range(30)]))
    w.write_audio(tone(SPF * 10))  # only a third of the video's length
    w.close()
    w.close()
    assert w.audio_seconds_written == pytest.approx(1.0)
    audio = AudioDecoder(str(path)).get_all_samples()
    assert audio.duration_seconds == pytest.approx(1.0, abs=1 / FPS)
    with pytest.raises(RecordingError, match="closed"):
        w.write_frames(moving_frame(0))


def test_a_video_only_file_has_no_audio_stream(tmp_path: Path):
    path = tmp_path / "silent.mp4"
    with Mp4Writer(path, W, H, FPS, None) as w:
        w.write_frames(np.stack([moving_frame(i) for i in range(15)]))
        with pytest.raises(ValueError, match="no audio stream"):
            w.write_audio(tone(100))
    assert [s["codec_type"] for s in ffprobe(path)["streams"]] == ["video"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(width=321), "even width and height.*320x180"),
    (dict(height=0), "height must be an integer >= 2"),
    (dict(sample_rate=22_000), "22000 is not supported by aac; use one of .*24000"),
    (dict(audio_channels=6), "audio_channels must be 1"),
    (dict(fps=0), "fps must be"),
    (dict(crf=80), "crf must be in"),
])
def test_bad_settings_fail_with_one_clear_error(tmp_path: Path, kwargs: dict, message: str):
    args = dict(path=tmp_path / "x.mp4", width=W, height=H, fps=FPS, sample_rate=SR) | kwargs
    with pytest.raises(ValueError, match=message):
        Mp4Writer(**args)


def test_unwritable_paths_and_other_containers_are_refused_up_front(tmp_path: Path):
    with pytest.raises(RecordingError, match="folder .*missing does not exist"):
        Mp4Writer(tmp_path / "missing" / "x.mp4", W, H, FPS, SR)
    with pytest.raises(ValueError, match="must end in one of .mp4"):
        Mp4Writer(tmp_path / "x.avi", W, H, FPS, SR)


def test_wrong_frames_and_audio_name_the_expected_shape(tmp_path: Path):
    with Mp4Writer(tmp_path / "x.mp4", W, H, FPS, SR) as w:
        with pytest.raises(ValueError, match=r"\(N, 180, 320, 3\) or \(N, 3, 180, 320\)"):
            w.write_frames(np.zeros((H, W + 2, 3), np.uint8))
        with pytest.raises(ValueError, match="uint8"):
            w.write_frames(np.zeros((H, W, 3), np.float32))
        with pytest.raises(ValueError, match=r"\(n,\) or \(1, n\)"):
            w.write_audio(np.zeros((2, 100), np.float32))
        with pytest.raises(ValueError, match="float samples"):
            w.write_audio(np.zeros(100, np.int16))


def test_trim_partial_fragment_cuts_a_torn_tail_so_every_frame_left_decodes(tmp_path: Path):
    path = tmp_path / "torn.mp4"
    write_clip(path, 3.0)
    last_mdat = [(o, s) for k, o, s in top_level_boxes(path) if k == b"mdat"][-1]
    os.truncate(path, last_mdat[0] + last_mdat[1] // 2)  # die in the middle of the last fragment
    with pytest.raises(RuntimeError):  # the torn fragment does not decode...
        video = VideoDecoder(str(path))
        [video[i] for i in range(len(video))]
    assert trim_partial_fragment(path) > 0
    video = VideoDecoder(str(path))
    assert len(video) == 60  # ...after the trim, the two complete seconds do, frame for frame
    assert video.get_frames_in_range(0, 60).data.shape == (60, 3, H, W)
    assert AudioDecoder(str(path)).get_all_samples().duration_seconds == pytest.approx(2.0, abs=0.1)
    assert trim_partial_fragment(path) == 0  # already clean


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from synesthete.mp4_writer import Mp4Writer
    W, H, FPS, SR = {W}, {H}, {FPS}, {SR}
    SPF = SR // FPS
    yy, xx = np.mgrid[0:H, 0:W]
    w = Mp4Writer({path!r}, W, H, FPS, SR)
    start = time.perf_counter()
    for i in range(10 * FPS):  # would run 10 s; the test kills it after 3
        band = ((xx + yy + 4 * i) % 64) * 3
        w.write_frames(np.stack([band, 255 - band, np.full_like(band, 60)], -1).astype(np.uint8))
        t = (np.arange(SPF) + i * SPF) / SR
        w.write_audio((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
        print(i + 1, flush=True)
        time.sleep(max(0.0, start + (i + 1) / FPS - time.perf_counter()))  # real time, like the live loop
""")


@pytest.mark.slow  # a fresh interpreter imports torch + PyAV: ~3-10 s on a busy machine
def test_a_recording_killed_with_sigkill_still_plays_up_to_the_last_second(tmp_path: Path):
    path = tmp_path / "killed.mp4"
    script = tmp_path / "writer.py"
    script.write_text(KILLED_WRITER.format(W=W, H=H, FPS=FPS, SR=SR, path=str(path)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            if int(line) >= 3 * FPS or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGKILL)  # no close(), no trailer, no Python cleanup
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    streams = {s["codec_type"]: s for s in ffprobe(path)["streams"]}
    assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    video = VideoDecoder(str(path))
    assert len(video) >= 2 * FPS  # complete fragments: everything but the last second or so
    assert video.get_frames_in_range(0, FPS).data.shape == (FPS, 3, H, W)
    assert AudioDecoder(str(path)).get_all_samples().duration_seconds >= 1.0
    trim_partial_fragment(path)  # whatever the kill tore, the rest decodes frame for frame
    video = VideoDecoder(str(path))
    assert video.get_frames_in_range(0, len(video)).data.shape[0] >= 2 * FPS


def test_a_full_disk_raises_recording_error_and_leaves_a_playable_file(tiny_disk: Path):
    path = tiny_disk / "full.mp4"
    w = Mp4Writer(path, W, H, FPS, SR)
    with pytest.raises(RecordingError) as caught:
        for i in range(60 * FPS):  # ~27 KB per second: the disk is full after ~5 s
            w.write_frames(moving_frame(i))
            w.write_audio(tone(SPF, i * SPF))
    assert caught.value.disk_full
    assert "disk full" in str(caught.value) and str(path) in str(caught.value)
    with pytest.raises(RecordingError, match="disk full"):  # the writer stays failed...
        w.write_frames(moving_frame(0))
    w.close()  # ...and closing it does not raise again
    video = VideoDecoder(str(path))
    assert len(video) >= FPS
    assert video.get_frames_in_range(0, len(video)).data.shape[0] == len(video)
    assert AudioDecoder(str(path)).get_all_samples().duration_seconds >= 0.9
