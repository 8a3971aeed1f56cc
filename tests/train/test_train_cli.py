"""`synesthete-train` from the command line: help that teaches, clear errors, a real short run."""

from __future__ import annotations

import json
import subprocess
import sys

from pathlib import Path

from synesthete.checkpoint import load_checkpoint
from synesthete_train.cli import main

PRESETS = Path(__file__).parents[2] / "presets"


def test_help_teaches_with_examples(capsys):
    try:
        main(["--help"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out
    assert "--resume" in out and "examples:" in out and "tracking.mode=offline" in out


def test_unknown_config_key_is_one_clear_error(capsys):
    assert main(["optim.lrr=1"]) == 2
    err = capsys.readouterr().err
    assert "optim.lrr" in err and "unknown key" in err and "Traceback" not in err


def test_wrong_type_names_the_key(capsys):
    assert main(["optim.batch_size=\"eight\""]) == 2
    assert "optim.batch_size" in capsys.readouterr().err


def test_missing_resume_checkpoint_names_the_file(tmp_path, capsys):
    missing = tmp_path / "nope.pt"
    assert main(["--resume", str(missing), "--max-steps", "1"]) == 2
    assert str(missing) in capsys.readouterr().err


def test_print_config_shows_the_resolved_overrides(capsys):
    assert main(["--print-config", "optim.lr=0.5", "--max-steps", "7"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["optim"]["lr"] == 0.5 and cfg["max_steps"] == 7


def test_cli_trains_the_hearing_model_in_a_subprocess(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "synesthete_train.cli", "--config", str(PRESETS / "train_default.toml"),
         "--max-steps", "2", "--out", str(out), "--device", "cpu", "--workers", "1", "--no-progress",
         "optim.batch_size=2", "data.clip_seconds=1.0", "data.crop_seconds=0.5", "eval.n_seeds=1",
         "eval.clip_seconds=1.0", f'data.midi_pool="{tmp_path / "pool"}"', "data.midi_pool_mma_songs=2",
         "eval.calibrate_seeds=2", "eval.calibrate_midi_songs=2", f'eval.calibrate_midi_pool="{tmp_path / "calib"}"'],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert load_checkpoint(out / "last.pt")["kind"] == "hearing"
    # The recipe's MIDI share: a missing pool is built first (2 songs here, 240 in the recipe).
    assert "building 2 MMA songs" in proc.stderr and (tmp_path / "pool" / "index.json").is_file()
    # ... and so is the calibration's own draw of MMA songs, apart from the pool
    assert (tmp_path / "calib" / "index.json").is_file() and "onset thresholds on 2 validation songs and" in proc.stderr
    # The first line says what the speed depends on: the precision, torch threads, data workers.
    assert "fp32" in proc.stderr and "data worker" in proc.stderr and " thread" in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["step"] == 2 and "eval/beat_phase_ok" in summary


def test_cli_trains_the_pixel_model_in_a_subprocess(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "synesthete_train.cli", "--max-steps", "2", "--out", str(out),
         "--device", "cpu", "--workers", "1", "--no-progress", "task=\"pixel\"", "model.height=16", "model.width=16",
         "optim.batch_size=2", "data.clip_seconds=0.5", "eval.n_seeds=1", "eval.size=16", "eval.clip_seconds=0.5",
         "eval.av_align=false"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert load_checkpoint(out / "last.pt")["kind"] == "pixel"
    assert json.loads(proc.stdout)["step"] == 2
