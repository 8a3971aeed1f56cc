"""`synesthete-render -o`: a bad OUTPUT fails before the render with one line naming it, and a
stopped or killed render leaves no hidden partial file behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from synesthete.render_cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "song.wav"
    rate = 24_000
    x = 0.3 * np.sin(2 * np.pi * 220 * np.arange(rate * 20) / rate)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((x * 32767).astype("<i2").tobytes())
    return path


def one_error(capsys) -> str:
    lines = [ln for ln in capsys.readouterr().err.splitlines() if "error" in ln]
    assert len(lines) == 1, lines
    return lines[0]


def test_output_onto_a_folder_fails_at_once(song, tmp_path, capsys, tiny_hearing_checkpoint):
    folder = tmp_path / "clips.mp4"
    folder.mkdir()
    assert main([str(song), "-o", str(folder), "--checkpoint", tiny_hearing_checkpoint, "--quiet"]) == 1
    line = one_error(capsys)
    assert "is a folder" in line and str(folder) in line
    assert list(folder.iterdir()) == [] and [p.name for p in tmp_path.iterdir()] == ["clips.mp4"]


def test_a_read_only_folder_is_named_plainly(song, tmp_path, capsys, tiny_hearing_checkpoint):
    folder = tmp_path / "ro"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here (needs CAP_SYS_ADMIN)")
    try:
        out = folder / "x.mp4"
        assert main([str(song), "-o", str(out), "--checkpoint", tiny_hearing_checkpoint, "--quiet"]) == 1
        line = one_error(capsys)
        assert "cannot write into folder" in line and str(out) in line
        assert "partial" not in line and "Errno" not in line
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_size_has_the_live_apps_upper_bound(song, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(song), "-o", str(tmp_path / "x.mp4"), "--size", "20000x720"])
    assert "16..16384" in one_error(capsys)


def _start_render(song: Path, out: Path, checkpoint: str) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-m", "synesthete.render_cli", str(song), "-o", str(out),
                             "--checkpoint", checkpoint, "--size", "64x48", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    partial = out.with_name(f".{out.stem}.partial-{proc.pid}.mp4")
    deadline = time.monotonic() + 120
    while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert partial.exists(), "the render never started writing"
    return proc, partial


def test_a_terminated_render_removes_its_partial_file(song, tmp_path, tiny_hearing_checkpoint):
    out = tmp_path / "song.mp4"
    proc, partial = _start_render(song, out, tiny_hearing_checkpoint)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "stopped by SIGTERM; no output written" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_next_render_cleans_up_after_a_killed_one(song, tmp_path, tiny_hearing_checkpoint):
    out = tmp_path / "song.mp4"
    proc, partial = _start_render(song, out, tiny_hearing_checkpoint)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert partial.exists()  # SIGKILL cannot be caught ...
    short = tmp_path / "short.wav"
    with wave.open(str(song)) as src, wave.open(str(short), "wb") as dst:
        dst.setparams(src.getparams())
        dst.writeframes(src.readframes(12_000))
    assert main([str(short), "-o", str(out), "--checkpoint", tiny_hearing_checkpoint, "--quiet", "--size", "64x48"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.wav", "song.mp4"]  # ... the next render removes it
