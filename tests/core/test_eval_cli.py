"""synesthete-eval: model, teacher and FFT-bars scored on the same audio; table, JSON and PNG out."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from synesthete.checkpoint import load_model, save_checkpoint
from synesthete.eval_cli import ROWS, main
from synesthete.evaluation import evaluate_model, procedural_item
from synesthete.metrics.clip import COLUMNS
from synesthete.model import build_model
from synesthete.model.config import model_config


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, build_model(model_config("tiny")))  # the teacher's styles
    return path


def test_evaluate_model_gives_the_trainer_its_held_out_figures(checkpoint):
    figures = evaluate_model(load_model(checkpoint), seeds=[10_000, 10_001], duration=1.0, size=32)
    assert set(figures) == {"l1", "psnr", "av_align_model", "av_align_teacher"}
    assert 0 < figures["l1"] < 1 and 0 < figures["psnr"] < 60
    assert 0 <= figures["av_align_model"] <= 1 and 0 <= figures["av_align_teacher"] <= 1


def test_held_out_item_has_a_quiet_tail_and_the_model_style(checkpoint):
    model = load_model(checkpoint)
    item = procedural_item(model.cfg, 10_000, 3, duration=1.0, size=32, quiet_tail=0.5)
    assert item.style == model.cfg.styles[3]
    assert item.audio.shape == (90 * 400,) and not item.audio[60 * 400 :].any()
    assert item.teacher.shape == (90, 3, 32, 32) and len(item.beat_times) > 0


def test_cli_prints_the_table_and_writes_json_and_plot(tmp_path, checkpoint, capsys):
    report, plot = tmp_path / "eval.json", tmp_path / "eval.png"
    assert main(["--checkpoint", str(checkpoint), "--seeds", "1", "--duration", "1.5", "--size", "32",
                 "--json", str(report), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    header, *rows = out.splitlines()[:4]
    assert header.split() == list(COLUMNS)
    assert [r.split()[0] for r in rows] == list(ROWS)
    data = json.loads(report.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    table = data["table"]
    assert set(table) == set(ROWS)
    assert table["teacher"]["psnr_vs_teacher"] is None  # the teacher is not compared with itself
    assert 0 < table["model"]["l1_vs_teacher"] < 1 and table["fft_bars"]["psnr_vs_teacher"] > 0
    assert all(0 <= table[r]["av_align"] <= 1 for r in ROWS)
    # The quiet tail makes flicker_quiet a number for every row; the bars fall still in silence.
    assert all(table[r]["flicker_quiet"] is not None for r in ROWS)
    assert table["fft_bars"]["flicker_hf_quiet"] < 0.01
    assert data["items"][0]["source"] == "seed 10000"
    assert cv2.imread(str(plot)).shape[1] == 1400


def write_clicks(path: Path, seconds: float = 2.0, sr: int = 22_050) -> Path:
    audio = np.zeros(int(seconds * sr))
    for t in np.arange(0.25, seconds, 0.5):
        audio[int(t * sr) : int(t * sr) + 100] = 0.8
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(sr)
        w.writeframes((audio * 32767).astype("<i2").tobytes())
    return path


def test_audio_files_have_no_teacher_row(tmp_path, checkpoint, capsys):
    report = tmp_path / "e.json"
    wav = write_clicks(tmp_path / "clicks.wav")
    assert main(["--checkpoint", str(checkpoint), "--audio", str(wav), "--size", "32", "--json", str(report)]) == 0
    table = json.loads(report.read_text())["table"]
    assert set(table) == {"model", "fft_bars"}
    assert table["model"]["psnr_vs_teacher"] is None
    assert table["fft_bars"]["audio_peaks"] == 4  # one onset per click
    # The bars jump on every click (as the click enters the window, and again as it fills it).
    assert table["fft_bars"]["av_hits"] == 4 and table["fft_bars"]["av_align"] >= 0.5


@pytest.mark.parametrize("argv, message", [
    (["--audio", "missing.wav"], "no such file"),
    (["--seeds", "0"], "nothing to evaluate"),
    (["--size", "8"], "--size"),
])
def test_bad_arguments_are_one_clear_error(tmp_path, checkpoint, capsys, argv, message):
    assert main(["--checkpoint", str(checkpoint), *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def _click_video(path: Path, clicks: list[int], n: int, fps: int = 30, sr: int = 24_000, size: int = 96) -> Path:
    """An mp4 whose audio clicks at the listed frames and whose textured square jumps on them."""
    from synesthete.mp4_writer import Mp4Writer

    rng = np.random.default_rng(0)
    hop = sr // fps
    audio = rng.normal(0, 1e-3, n * hop).astype(np.float32)
    burst = (rng.normal(0, 0.4, 96) * np.hanning(96)).astype(np.float32)
    patch = rng.integers(60, 255, (24, 24, 3), dtype=np.uint8)
    x = 8
    with Mp4Writer(path, size, size, fps, sr) as w:
        for t in range(n):
            if t in clicks:
                audio[t * hop + hop // 2 : t * hop + hop // 2 + 96] += burst
                x = 8 if x > 40 else x + 12
            frame = np.zeros((size, size, 3), np.uint8)
            frame[36:60, x : x + 24] = patch
            w.write_frames(frame)
            w.write_audio(audio[t * hop : (t + 1) * hop])
    return path


def test_video_scores_a_rendered_file_against_its_own_audio(tmp_path, capsys):
    rng = np.random.default_rng(3)
    clicks = sorted(set(np.cumsum(rng.integers(9, 31, 20)).tolist()))  # irregular: chance stays low
    n = clicks[-1] + 30
    video = _click_video(tmp_path / "clicks.mp4", clicks, n)
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "clicks.json").write_text(json.dumps({"beats": [(c + 0.5) / 30 for c in clicks]}))
    report = tmp_path / "video.json"
    assert main(["--video", str(video), "--dev-set", str(dev), "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "clicks.mp4 video" in out and "mean fft_bars" in out
    data = json.loads(report.read_text())
    (item,) = data["files"]
    assert item["beats"] == "MIDI" and item["video"]["fps"] == 30
    video_figs = item["video"]
    assert video_figs["av_align"] > 0.7 and video_figs["av_align_chance"] < video_figs["av_align"] - 0.3
    assert video_figs["beat_align"] > 0.7
    assert 0 <= item["fft_bars"]["av_align"] <= 1
    assert main(["--video", str(tmp_path / "none.mp4")]) == 1
    assert "no such file" in capsys.readouterr().err
