"""`synesthete-live` from the outside: --help teaches, bad arguments are one clear line and a
non-zero exit (never a traceback), and a headless demo run records a playable mp4 + session log."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from synesthete.session_log import read_session_log
from synesthete_live.cli import main

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy")
    return subprocess.run([sys.executable, "-m", "synesthete_live.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


class App:
    """`synesthete-live` running in a subprocess; stderr lines are read as they come, each with
    whether the app was still running when it was read."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, SDL_VIDEODRIVER="dummy")
        self.proc = subprocess.Popen([sys.executable, "-m", "synesthete_live.cli", *args], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.put((line, self.proc.poll() is None))
        self.lines.put(None)

    def wait_for(self, text: str, timeout: float = 120) -> bool:
        """Read stderr until a line contains `text`; True if the app was still running then."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                item = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                break
            self.err.append(item[0])
            if text in item[0]:
                return item[1]
        raise AssertionError(f"{text!r} never came on stderr: {''.join(self.err)}")

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        out = self.proc.stdout.read()
        code = self.proc.wait(timeout)
        while (item := self.lines.get(timeout=10)) is not None:
            self.err.append(item[0])
        return code, out, "".join(self.err)


def wait_until(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def run_main(args: list[str], capsys) -> tuple[int, str]:
    """main() in-process (no interpreter start-up per case): exit code and stderr."""
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    try:
        code = main(args)
    except SystemExit as e:  # argparse's own usage errors
        code = e.code
    return code, capsys.readouterr().err


def test_help_teaches_with_examples_and_keys(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for expected in ("--device", "loopback", "file:PATH", "--midi-virtual", "--record", "--headless",
                     "examples:", "MIDI learn", "kaleidoscope", "escape"):
        assert expected in text, expected


@pytest.mark.parametrize("args, words", [
    (["--device", "demo", "--checkpoint", "missing.pt", "--headless", "--duration", "1"], ["missing.pt", "no such checkpoint"]),
    (["--device", "demo", "--preset", "nope", "--headless", "--duration", "1"], ["preset 'nope'", "known:"]),
    (["--size", "big"], ["WIDTHxHEIGHT"]),
    (["--midi", "a", "--midi-virtual", "b"], ["not both"]),
    (["--record", "show.avi", "--headless"], ["mp4"]),
    (["--blend-seconds", "-2"], ["--blend-seconds", "between 0 and 60"]),
    (["--render-size", "4096x4096", "--headless"], ["--render-size 4096x4096", "2x the window (1280x720)",
                                                    "at most 2560x1440"]),
])
def test_bad_arguments_give_one_clear_line_and_a_nonzero_exit(args, words, capsys):
    code, err = run_main(args, capsys)
    assert code == 2, err
    errors = [ln for ln in err.splitlines() if "error" in ln]
    assert len(errors) == 1, err
    for w in words:
        assert w in errors[0], (w, err)


def test_an_unknown_device_from_the_real_entry_point_is_one_line_no_traceback():
    r = cli("--device", "no-such-soundcard", "--headless", "--duration", "1")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if "error" in ln]
    assert len(errors) == 1 and "no input device name contains 'no-such-soundcard'" in errors[0], r.stderr


@pytest.mark.jack
def test_an_unknown_midi_port_lists_the_ports_that_exist(jack_server, midi_sender, capsys):
    sender = midi_sender()  # one real port to be listed
    code, err = run_main(["--device", "demo", "--midi", "no-such-port", "--headless", "--duration", "1"], capsys)
    line = [ln for ln in err.splitlines() if "error" in ln]
    assert code == 2 and len(line) == 1 and "no-such-port" in line[0] and sender.client in line[0], err


@pytest.mark.slow
def test_a_headless_demo_run_records_a_playable_mp4_and_a_session_log(tmp_path):
    out = tmp_path / "x.mp4"
    r = cli("--device", "demo", "--headless", "--duration", "3", "--record", str(out), "--record-size", "320x180")
    assert r.returncode == 0, r.stderr
    assert "fps (" in r.stdout and "recorded" in r.stdout
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height:format=duration",
                            "-of", "json", str(out)], capture_output=True, text=True, check=True)
    info = json.loads(probe.stdout)
    kinds = {s["codec_type"]: s for s in info["streams"]}
    assert set(kinds) == {"video", "audio"}
    assert (kinds["video"]["width"], kinds["video"]["height"]) == (320, 180)
    assert 2.0 < float(info["format"]["duration"]) < 4.0
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-f", "null", "-"], capture_output=True, text=True)
    assert decoded.returncode == 0 and not decoded.stderr.strip(), "decodes cleanly end to end"
    log = read_session_log(tmp_path / "x.session.jsonl")
    assert log.header["fps"] == 60 and log.header["sample_rate"] == 24_000 and not log.truncated

    # The same command again, killed 0.5 s into its recording: the first show is never touched.
    show, show_log = out.read_bytes(), (tmp_path / "x.session.jsonl").read_bytes()
    again = App("--device", "demo", "--headless", "--duration", "3", "--record", str(out), "--record-size", "320x180")
    try:
        again.wait_for("Esc quit")  # the show (and its recording) started
        time.sleep(0.5)
        again.proc.send_signal(signal.SIGKILL)
        again.proc.wait(30)
    finally:
        again.proc.kill()
    err = "".join(again.err)
    assert "x.mp4 (or its session log) exists already: recording to " + str(tmp_path / "x-2.mp4") in err, err
    assert out.read_bytes() == show and (tmp_path / "x.session.jsonl").read_bytes() == show_log
    assert (tmp_path / "x-2.mp4").exists() and (tmp_path / "x-2.session.jsonl").exists()


@pytest.mark.slow
def test_a_recording_is_at_the_render_size_unless_asked(tmp_path):
    # The window (1280x720 by default) scales the looks up; the file keeps the looks' own pixels
    # (cover crop to the window's aspect), and --record-size still wins.
    for name, extra, want in (("native.mp4", [], (320, 180)),
                              ("square.mp4", ["--render-size", "300x300"], (300, 168)),
                              ("asked.mp4", ["--record-size", "256x144"], (256, 144))):
        out = tmp_path / name
        args = ["--device", "demo", "--headless", "--duration", "1.5", "--record", str(out)]
        r = cli(*args, *(extra or ["--render-size", "320x180"]))
        assert r.returncode == 0, r.stderr
        assert f"recording to {out} ({want[0]}x{want[1]})" in r.stderr, r.stderr
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                                "stream=width,height", "-of", "csv=p=0", str(out)], capture_output=True, text=True)
        assert probe.stdout.strip() == f"{want[0]},{want[1]}", (name, probe.stdout, probe.stderr)
        assert decodes_cleanly(out)


def decodes_cleanly(path: Path) -> bool:
    done = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True)
    return done.returncode == 0 and not done.stderr.strip()


@pytest.mark.slow
def test_a_full_disk_mid_set_ends_the_recording_says_so_and_the_show_goes_on(small_disk, fill_disk, tmp_path):
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "a.toml").write_text('name = "A"\n[controls]\nhue = 0.2\n')
    (presets / "b.toml").write_text('name = "B"\n[controls]\nhue = 0.7\n')
    rec = small_disk / "set.mp4"
    app = App("--device", "demo", "--headless", "--duration", "10", "--size", "320x180", "--record", str(rec),
              "--presets-dir", str(presets), "--auto-advance", "0.4")
    try:
        app.wait_for("recording to")
        assert wait_until(lambda: rec.stat().st_size > 20_000, 30), "the first fragments reach the disk"
        fill_disk(small_disk)  # another program fills the disk mid-set
        running = app.wait_for("disk full", timeout=30)
        code, out, err = app.finish()
    finally:
        app.proc.kill()
    assert running, "the full disk is reported while the show runs, not at the end"
    line = next(ln for ln in err.splitlines() if "disk full" in ln)
    assert "the show goes on" in line and "set" in line
    assert "Traceback" not in err, err
    assert code == 3, (code, err)  # the show ran to the end; the exit status says the recording failed
    assert "frames" in out and "recording error: disk full" in out
    assert decodes_cleanly(rec), "the recording up to the full disk plays"
    log = read_session_log(small_disk / "set.session.jsonl")
    assert log.header["fps"] == 60 and any(e.type == "preset" for e in log.events)
