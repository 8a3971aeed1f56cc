"""`synesthete-live` from the outside: --help teaches, bad arguments are one clear line and a
non-zero exit (never a traceback), and a headless demo run records a playable mp4 + session log."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synesthete.session_log import read_session_log
from synesthete_live.cli import main

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy")
    return subprocess.run([sys.executable, "-m", "synesthete_live.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


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
