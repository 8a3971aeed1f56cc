"""NDI out for real: a receiver (ndi-python, the same runtime Resolume/OBS use) finds the source on
this machine and receives frames of the asked size showing what was sent, and the sound; the app
publishes the demo show; without ndi-python `--ndi` says in one line how to get it.

Discovery: NDI announces sources by mDNS. Where multicast does not reach (this container), NDI's
finder asks this machine's address directly (`extra_ips`), which is what the receiver here does."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from synesthete_live.ndi_out import INSTALL_HINT

ROOT = Path(__file__).resolve().parents[2]
SR = 24_000


def ndi_lib():
    return pytest.importorskip("NDIlib", reason=INSTALL_HINT)


class Receiver:
    """Finds an NDI source whose name contains `name` and captures its frames."""

    def __init__(self, name: str, timeout: float = 15.0, pump=None) -> None:
        self.ndi = ndi = ndi_lib()
        assert ndi.initialize()
        create = ndi.FindCreate()
        create.show_local_sources = True
        create.extra_ips = "127.0.0.1"
        self.find = ndi.find_create_v2(create)
        end, source = time.monotonic() + timeout, None
        while source is None and time.monotonic() < end:
            if pump is not None:
                pump()
            ndi.find_wait_for_sources(self.find, 100)
            source = next((s for s in ndi.find_get_current_sources(self.find) if f"({name})" in s.ndi_name), None)
        assert source is not None, f"no NDI source named {name!r} found"
        self.source_name = source.ndi_name
        recv = ndi.RecvCreateV3()
        recv.color_format = ndi.RECV_COLOR_FORMAT_BGRX_BGRA
        self.recv = ndi.recv_create_v3(recv)
        ndi.recv_connect(self.recv, source)

    def capture(self, want_video: int, want_audio: bool, timeout: float = 15.0, pump=None):
        ndi, video, audio = self.ndi, [], []
        end = time.monotonic() + timeout
        while time.monotonic() < end and (len(video) < want_video or (want_audio and not audio)):
            if pump is not None:
                pump()
            kind, v, a, _ = ndi.recv_capture_v2(self.recv, 50)
            if kind == ndi.FRAME_TYPE_VIDEO:
                video.append((v.xres, v.yres, v.data.copy()))
                ndi.recv_free_video_v2(self.recv, v)
            elif kind == ndi.FRAME_TYPE_AUDIO:
                audio.append((a.sample_rate, a.no_channels, a.data.copy()))
                ndi.recv_free_audio_v2(self.recv, a)
        return video, audio

    def close(self) -> None:
        self.ndi.recv_destroy(self.recv)
        self.ndi.find_destroy(self.find)


def test_a_receiver_finds_the_source_and_gets_the_frames_and_sound():
    ndi_lib()
    from synesthete_live.ndi_out import NdiOut

    name = f"synesthete-test-{os.getpid()}"
    out = NdiOut(name, (320, 180), 60, SR).start()
    image = np.zeros((240, 240, 3), np.uint8)  # square: the 16:9 output shows its centred crop
    image[:120, :, 0] = 255  # top half red
    image[120:, :, 2] = 255  # bottom half blue
    image[:4, :, 1] = 255  # a green top edge the crop cuts off
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(400) / SR)).astype(np.float32)
    pump = lambda: out.submit(image, tone)  # noqa: E731 (a source only serves what it is sent)
    rx = Receiver(name, pump=pump)
    try:
        video, audio = rx.capture(3, True, pump=pump)
        receivers = out.connections
    finally:
        rx.close()
        out.stop()
    assert len(video) >= 3 and audio
    w, h, data = video[-1]
    assert (w, h) == (320, 180) and data.shape == (180, 320, 4)
    bgr = data[..., :3].astype(int)
    assert np.abs(bgr[20, 160] - [0, 0, 255]).max() < 24, "top is red (BGR), within the codec's error"
    assert np.abs(bgr[160, 160] - [255, 0, 0]).max() < 24, "bottom is blue"
    assert bgr[:2, :, 1].max() < 24, "the green edge is cropped away like the window does"
    rate, channels, samples = audio[-1]
    assert rate == SR and channels == 1 and samples.shape[0] == 1
    assert np.abs(samples).max() == pytest.approx(0.5, abs=0.01)
    assert receivers == 1 and out.sent >= 3 and out.connections == 0


def test_the_app_publishes_the_demo_show(tmp_path):
    ndi_lib()
    name = f"synesthete-app-{os.getpid()}"
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    app = subprocess.Popen([sys.executable, "-m", "synesthete_live.cli", "--device", "demo", "--headless",
                            "--duration", "25", "--presets-dir", str(tmp_path), "--size", "320x180",
                            "--ndi", name, "--ndi-size", "256x144"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        rx = Receiver(name, timeout=60.0)
        try:
            video, audio = rx.capture(20, True, timeout=30.0)
        finally:
            rx.close()
    finally:
        app.terminate()
        out, err = app.communicate(timeout=30)
    # The NDI thread yields the CPU to the show (nice +10): on a loaded machine it sends fewer frames.
    assert len(video) >= 20, err
    assert all((w, h) == (256, 144) for w, h, _ in video)
    frames = np.stack([d[..., :3] for _, _, d in video[-20:]]).astype(float)
    assert frames.std() > 2.0, "a picture, not a blank"
    assert np.abs(np.diff(frames, axis=0)).mean() > 0.2, "and it moves with the music"
    assert audio and all(rate == SR and ch == 1 for rate, ch, _ in audio)
    assert max(np.abs(s).max() for _, _, s in audio) > 0.05, "the demo's sound comes along"


def test_without_ndi_python_the_option_says_how_to_get_it(tmp_path):
    hidden = tmp_path / "hide"
    (hidden / "NDIlib").mkdir(parents=True)
    (hidden / "NDIlib" / "__init__.py").write_text('raise ImportError("ndi-python is not installed")\n')
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYTHONPATH=str(hidden))
    r = subprocess.run([sys.executable, "-m", "synesthete_live.cli", "--device", "demo", "--headless",
                        "--duration", "1", "--ndi", "x"], capture_output=True, text=True, timeout=120, cwd=ROOT,
                       env=env)
    assert r.returncode == 2
    errors = [ln for ln in r.stderr.splitlines() if "error" in ln]
    assert errors == [f"synesthete-live: error: {INSTALL_HINT}"], r.stderr
