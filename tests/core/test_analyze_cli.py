"""synesthete-analyze through its real CLI: the issue's JSON keys, causal events equal to the live
detector on the model's own forward pass, one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from synesthete.analyze_cli import main
from synesthete.audio.engine import render_clip
from synesthete.checkpoint import load_model
from synesthete.constants import STEMS
from synesthete.features import FeatureExtractor
from synesthete.model.hearing import to_music_state
from synesthete.music_events import detect_events
from synesthete.music_state import FIELDS

KEYS = {"fps", "duration_s", "tempo_bpm", "beats", "downbeats", "onsets", "chords", "frames"}






@pytest.fixture(scope="module")
def song(tmp_path_factory, write_wav) -> Path:
    clip = render_clip(10_003, 3.0, sample_rate=44_100, stereo=True)  # a file at another rate, in stereo
    return write_wav(tmp_path_factory.mktemp("audio") / "song.wav", clip.audio, 44_100)


def test_writes_the_issue_keys_and_events_the_live_detector_gives(tmp_path, hearing_checkpoint, song, capsys):
    out = tmp_path / "song.json"
    assert main([str(song), "-o", str(out), "--checkpoint", str(hearing_checkpoint), "--no-progress"]) == 0
    assert "wrote" in capsys.readouterr().err
    report = json.loads(out.read_text())
    assert KEYS <= set(report)
    model = load_model(hearing_checkpoint)
    fps = model.cfg.fps
    n = len(report["frames"]["beat_phase"])
    assert report["fps"] == fps and n == 3 * fps and report["duration_s"] == pytest.approx(3.0)
    assert set(report["onsets"]) == set(STEMS)
    for f in FIELDS:  # every field, per frame (multi-column ones per column)
        v = report["frames"][f.name]
        assert (len(v) if f.columns is None else {c: len(v[c]) for c in f.columns}) == \
            (n if f.columns is None else {c: n for c in f.columns}), f.name
    for c in report["chords"]:
        assert set(c) == {"start", "end", "root", "quality"} and c["start"] <= c["end"]
    # the model stepped frame by frame equals its forward pass over the decoded clip (causal), and
    # the events are the live detector's on that state
    from synesthete.audio_file import read_model_audio

    audio = read_model_audio(song, model.cfg.sample_rate)
    with torch.inference_mode():
        feats = FeatureExtractor.for_model(model.cfg).extract(torch.from_numpy(audio)[None])
        state = to_music_state(model.fields(feats), fps)
    np.testing.assert_allclose(report["frames"]["beat_phase"], state.beat_phase[:n], atol=2e-4)
    events = detect_events(state.slice(0, n), fps)
    assert report["beats"] == pytest.approx(events.beats.tolist(), abs=1e-3)
    assert report["onsets"]["kick"] == pytest.approx(events.onsets["kick"][0].tolist(), abs=1e-3)
    assert all(0 < t <= 3.0 for s in STEMS for t in report["onsets"][s])


def test_the_installed_command_writes_json_to_stdout_with_a_progress_bar(hearing_checkpoint, song):
    exe = Path(sys.executable).parent / "synesthete-analyze"
    res = subprocess.run([str(exe), str(song), "--checkpoint", str(hearing_checkpoint)], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert KEYS <= set(json.loads(res.stdout))
    assert "hearing" in res.stderr and "frame" in res.stderr  # tqdm's bar went to stderr


def _fails(capsys, argv: list[str], *words: str) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("synesthete-analyze: error:"), err
    for w in words:
        assert w in err, err


def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path, hearing_checkpoint, song, capsys, write_wav):
    ck = ["--checkpoint", str(hearing_checkpoint), "--no-progress"]
    _fails(capsys, [str(tmp_path / "nope.wav"), *ck], "no such file")
    text = tmp_path / "notes.txt"
    text.write_text("not audio at all\n" * 50)
    _fails(capsys, [str(text), *ck], "notes.txt")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    _fails(capsys, [str(empty), *ck], "empty")
    silent = write_wav(tmp_path / "zero.wav", np.zeros(0, np.float32), 24_000)  # a wav header, no samples
    _fails(capsys, [str(silent), *ck], "zero.wav")
    _fails(capsys, [str(song), "-o", str(tmp_path / "missing" / "x.json"), *ck], "does not exist")
    _fails(capsys, [str(song), "-o", str(tmp_path), *ck], "folder")
    _fails(capsys, [str(song), "--checkpoint", str(text), "--no-progress"], "notes.txt")
    _fails(capsys, [str(song), "--onset-threshold", "1.5", *ck], "onset_threshold")
