"""The scripts that draw the docs' figures run against the shipped checkpoint (one broke unseen
when the held-out set became a `HeldOut`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[2]


def test_render_strip_draws_teacher_and_model_rows(tmp_path):
    out = tmp_path / "strip.png"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "render_strip.py"), "--out", str(out), "--size", "32",
                    "--styles", "rings", "tunnel", "--frames", "3"], check=True, cwd=ROOT, capture_output=True)
    image = cv2.imread(str(out))
    assert image.shape == (2 * 2 * (32 + 4), 130 + 3 * (32 + 4), 3)  # 2 styles x (teacher, model) rows
    assert image[:, 130:].max() > 0  # something drawn in the tiles, not only labels


def test_decoder_layout_bench_times_both_layouts(tmp_path):
    out = tmp_path / "layout.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "decoder_layout_bench.py"), "--repeats", "1",
                    "--threads", "1", "--json", str(out)], check=True, cwd=ROOT, capture_output=True)
    figures = json.loads(out.read_text())
    for layout in ("nchw", "channels_last"):
        assert figures[f"{layout}_train_ms"] > 0 and figures[f"{layout}_live_256_ms"] > 0
    assert figures["train_speedup"] == round(figures["nchw_train_ms"] / figures["channels_last_train_ms"], 2)


def test_the_evaluation_audio_is_the_same_on_every_build(tmp_path):
    """The audio-file figures in docs/evaluation.md can only be reproduced if the files are: sox's
    noise and dither are random unless it runs in repeatable mode (-R)."""
    builds = []
    for name in ("a", "b"):
        subprocess.run(["bash", str(ROOT / "scripts" / "make_eval_audio.sh"), str(tmp_path / name)], check=True,
                       cwd=ROOT, capture_output=True)
        builds.append({p.name: p.read_bytes() for p in sorted((tmp_path / name).glob("*.wav"))})
    assert sorted(builds[0]) == ["groove_through_room_mic.wav", "plucked_chords.wav", "sox_groove.wav",
                                 "voice_over_beat.wav"]
    assert builds[0] == builds[1]
    seconds = subprocess.run(["soxi", "-D", str(tmp_path / "a" / "sox_groove.wav")], check=True, capture_output=True,
                             text=True).stdout
    assert float(seconds) > 30  # the 36 s groove


def test_the_mic_ablation_scores_each_augmentation_and_the_whole_chain_as_the_evaluation_does():
    """scripts/hearing_diagnosis.py --mic-ablation (docs/evaluation.md, what the room mic costs): a row
    per condition, and its "all" row is exactly synesthete-eval's room-mic figure for those songs."""
    import torch

    from synesthete.audio.augment import P
    from synesthete.checkpoint import load_model
    from synesthete.hearing_evaluation import MODEL_ROW, evaluate_hearing, procedural_items

    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "hearing_diagnosis.py"), "--mic-ablation",
                          "--seed-base", "30000", "--seeds", "1", "--duration", "8"],
                         check=True, cwd=ROOT, capture_output=True, text=True)
    lines = run.stdout.splitlines()
    table = lines[[line.split()[:1] for line in lines].index(["condition"]) + 1:]
    rows = {line.split()[0]: line.split()[1:] for line in table if line.strip()}
    assert list(rows) == ["clean", *P, "all"]
    model = load_model(None, kind="hearing")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the script hears: the same sums to the bit
    try:
        want = evaluate_hearing(model, procedural_items(model.cfg, [30000], 8.0), baselines=False)[MODEL_ROW][0]
    finally:
        torch.set_num_threads(threads)
    assert float(rows["all"][0]) == round(want["beat_f"], 3)  # the first column is beat F
    assert float(rows["all"][2]) == round(want["onset_f/kick"], 3)
    assert all(0.0 <= float(v) <= 1.0 for values in rows.values() for v in values if v != "nan")
    assert rows["clean"] != rows["all"]  # the chain changed what was heard
