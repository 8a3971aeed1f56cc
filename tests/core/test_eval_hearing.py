"""synesthete-eval --hearing: the hearing tables on held-out procedural songs and a dev set, and the
DSP baselines they are set against."""

from __future__ import annotations

import json
from pathlib import Path

import mir_eval
import numpy as np
import pytest

from synesthete.audio.engine import render_clip
from synesthete.eval_cli import main
from synesthete.hearing_evaluation import COLUMNS, dev_set_items, procedural_items
from synesthete.metrics.baselines import aubio_events, librosa_events
from synesthete.metrics.hearing import beat_f, onset_f
from synesthete.model.config import hearing_config





@pytest.fixture(scope="module")
def dev_set(tmp_path_factory, write_wav) -> Path:
    """A one-excerpt dev set in make_dev_set.py's layout (a procedural song stands in for the MIDI)."""
    folder = tmp_path_factory.mktemp("dev_set")
    clip = render_clip(10_050, 6.0, sample_rate=44_100)
    write_wav(folder / "x.wav", clip.audio, 44_100)
    score = clip.score
    meta = {"name": "x", "audio": "x.wav", "beats": score.beat_times.tolist(),
            "downbeats": score.downbeat_times.tolist(),
            "onsets": {s: score.onsets[s][0].tolist() for s in ("kick", "snare", "hat_closed", "bass")}}
    (folder / "x.json").write_text(json.dumps(meta))
    (folder / "index.json").write_text(json.dumps({"excerpts": [{"name": "x"}]}))
    return folder


def test_items_carry_the_truth(dev_set) -> None:
    (item,) = dev_set_items(dev_set, 24_000)
    assert item.audio.shape[0] == pytest.approx(6 * 24_000, abs=50) and item.truth_state is None
    assert item.truth.beats.size > 4 and item.truth.onsets["perc"][0].size == 0
    cfg = hearing_config("tiny", n_mels=16)
    clean, mic = procedural_items(cfg, [10_001], 5.0, augment=False)[0], procedural_items(cfg, [10_001], 5.0)[0]
    assert len(clean.truth_state) == 5 * cfg.fps and mic.source == "seed 10001 (mic)"
    assert not np.allclose(clean.audio, mic.audio)  # the room mic changed the sound, not the truth
    np.testing.assert_array_equal(clean.truth.beats, mic.truth.beats)


def test_cli_reports_both_sets(tmp_path, hearing_checkpoint, dev_set, capsys) -> None:
    report = tmp_path / "hearing.json"
    assert main(["--hearing", "--checkpoint", str(hearing_checkpoint), "--seeds", "1", "--duration", "6",
                 "--dev-set", str(dev_set), "--no-baselines", "--onset-threshold", "0.2", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "procedural, room mic (1 items)" in out and "dev set (1 items)" in out
    data = json.loads(report.read_text())
    proc, dev = data["tables"]["procedural, room mic"]["model"], data["tables"]["dev set"]["model"]
    assert set(proc) - {"items"} <= set(COLUMNS) and {"beat_f", "downbeat_f", "chord_root_acc", "energy_r"} <= set(proc)
    assert all(0 <= proc[c] <= 1 for c in proc if c not in ("items", "energy_r"))
    assert "chord_root_acc" not in dev and 0 <= dev["beat_f"] <= 1  # no chord truth in the dev set
    assert data["items"]["dev set"]["sources"] == ["x"] and data["onset_threshold"] == 0.2
    assert main(["--hearing", "--checkpoint", str(hearing_checkpoint), "--duration", "3"]) == 1
    assert "--duration" in capsys.readouterr().err


def test_cli_hears_the_dev_set_alone(tmp_path, hearing_checkpoint, dev_set, capsys, monkeypatch) -> None:
    """docs/evaluation.md's "only the dev set" command: --seeds 0 leaves the procedural table out."""
    report = tmp_path / "dev.json"
    assert main(["--hearing", "--checkpoint", str(hearing_checkpoint), "--seeds", "0", "--dev-set", str(dev_set),
                 "--no-baselines", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "dev set (1 items)" in out and "procedural" not in out
    assert list(json.loads(report.read_text())["tables"]) == ["dev set"]
    monkeypatch.chdir(tmp_path)  # no results/dev_set here to fall back on
    assert main(["--hearing", "--checkpoint", str(hearing_checkpoint), "--seeds", "0", "--no-baselines"]) == 1
    assert "nothing to evaluate" in capsys.readouterr().err


@pytest.mark.slow
def test_baselines_hear_a_plain_drum_loop() -> None:
    # 120 BPM: a low thump on every beat, a noise snare on 2 and 4, a hat on the off-beats, over a
    # faint noise floor (aubio's tracker gates true digital silence); both libraries must find them
    sr = 24_000
    t = np.arange(int(12 * sr)) / sr
    rng = np.random.default_rng(0)
    audio = (0.01 * rng.normal(size=t.size)).astype(np.float32)
    beats = np.arange(0.25, 12.0, 0.5)
    for k, b in enumerate(beats):
        i = int(b * sr)
        n = int(0.15 * sr)
        audio[i : i + n] += 0.8 * np.sin(2 * np.pi * 60 * t[:n]) * np.exp(-t[:n] / 0.05)
        if k % 2:
            audio[i : i + n] += 0.3 * rng.normal(size=n) * np.exp(-t[:n] / 0.03)
        i, n = int((b + 0.25) * sr), int(0.03 * sr)
        if i + n <= audio.size:
            audio[i : i + n] += 0.1 * np.diff(rng.normal(size=n + 1)) * np.exp(-t[:n] / 0.01)
    for run in (aubio_events, librosa_events):
        events = run(audio.astype(np.float32), sr)
        # on the beat, at the tempo or a metrical level off (librosa settles on half tempo here:
        # beat F 0.67 by mir_eval's strict definition, the known price of a wrong metrical level)
        _, precision, _ = mir_eval.onset.f_measure(beats[beats >= 4.0], events.beats[events.beats >= 4.0], window=0.07)
        assert precision > 0.9 and beat_f(beats, events.beats, min_time=4.0) > 0.6, run.__name__
        assert min(abs(events.tempo_bpm / bpm - 1) for bpm in (60, 120, 240)) < 0.03, run.__name__
        f, _, recall = mir_eval.onset.f_measure(beats, events.onsets["kick"][0], window=0.05)
        assert recall > 0.9 and f > 0.7 and f == onset_f(beats, events.onsets["kick"][0]), run.__name__
        # the snare band also hears the hats (a band split cannot tell them apart): every snare is found
        _, _, recall = mir_eval.onset.f_measure(beats[1::2], events.onsets["snare"][0], window=0.05)
        assert recall > 0.9, run.__name__


def test_onset_threshold_sweep_script_prints_a_row_per_threshold(hearing_checkpoint) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    res = subprocess.run([sys.executable, str(root / "scripts" / "onset_threshold_sweep.py"), "--checkpoint",
                          str(hearing_checkpoint), "--seeds", "1", "--duration", "6", "--thresholds", "0.3", "0.6"],
                         capture_output=True, text=True, cwd=root, timeout=300)
    assert res.returncode == 0, res.stderr
    header, *rows = res.stdout.strip().splitlines()
    assert header.split()[:3] == ["threshold", "kick", "snare"]
    assert [r.split()[0] for r in rows] == ["0.30", "0.60"]
    assert all(0 <= float(x) <= 1 for r in rows for x in r.split()[1:] if x != "nan")
