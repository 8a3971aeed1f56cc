"""MMA-arranged songs for the MIDI pool: never the dev set's grooves, a drawn sheet is the same MIDI
file every time, the written beats are the music's, and the CLI builds a pool the trainer reads.
Real MMA (Debian `mma`, installed by scripts/setup.sh) and real fluidsynth."""

from __future__ import annotations

import json
import re

import numpy as np
import pretty_midi
import pytest

from synesthete.data.midi_pool import MidiPool
from synesthete_train import mma_songs
from synesthete_train.cli import main as train_main
from synesthete_train.midi_pool import piece_sound
from synesthete_train.midi_pool_cli import main as pool_main
from synesthete_train.mma_songs import DEV_GROOVE_FILES, groove_files, song_text, write_midi


def test_the_drawable_grooves_leave_out_the_dev_sets_and_uncounted_meters():
    files = groove_files()
    stems = {stem for stem, _, _ in files}
    assert len(files) >= 60  # the library's ~120 files, less the dev set's, 6/8, 12/8 and 5/4
    assert not stems & DEV_GROOVE_FILES
    assert {beats for _, beats, _ in files} == {3, 4}
    assert "waltz" in stems and "8beat" in stems
    for _, _, names in files:
        assert names and not any(re.search("intro|end", n, re.I) for n in names)


def test_a_drawn_sheet_is_the_same_for_the_same_draws_and_has_four_sections_of_eight_bars():
    files = groove_files()
    a, stem = song_text(np.random.default_rng(3), files)
    b, _ = song_text(np.random.default_rng(3), files)
    c, _ = song_text(np.random.default_rng(4), files)
    assert a == b and a != c
    assert stem in {s for s, _, _ in files}
    assert len(re.findall(r"^Groove ", a, re.M)) == 4
    bars = [int(m) for m in re.findall(r"^(\d+) ", a, re.M)]
    assert bars == list(range(1, 33))
    assert re.search(r"^RndSeed \d+$", a, re.M) and re.search(r"^TimeSig [34] 4$", a, re.M)


def _sheet(files, beats: int, seed: int = 0) -> tuple[str, int]:
    """The first drawn sheet (from seed on) whose groove file is in `beats`, and its tempo."""
    rng = np.random.default_rng(seed)
    while True:
        text, stem = song_text(rng, files)
        groove = (mma_songs.MMA_LIBRARY / f"{stem}.mma").read_text(errors="replace").lower()
        if next(b for s, b, _ in files if s == stem) == beats and "drum-" in groove:
            return text, int(re.search(r"^Tempo (\d+)", text, re.M).group(1))


@pytest.mark.parametrize("beats", [3, 4])
def test_mma_writes_the_sheets_meter_and_tempo_and_plays_on_its_beats(tmp_path, beats):
    text, tempo = _sheet(groove_files(), beats)
    write_midi(text, tmp_path / "a.mid")
    write_midi(text, tmp_path / "b.mid")
    pm, again = (pretty_midi.PrettyMIDI(str(tmp_path / f)) for f in ("a.mid", "b.mid"))
    def notes(m: pretty_midi.PrettyMIDI) -> list[tuple]:
        return [(i.program, i.is_drum, n.pitch, n.velocity, n.start) for i in m.instruments for n in i.notes]

    assert notes(pm) == notes(again)  # the humanising is seeded (the files differ only in a temp file's name)
    assert pm.time_signature_changes[0].numerator == beats
    b = pm.get_beats()
    assert np.allclose(np.diff(b[:16]), 60.0 / tempo, atol=1e-3)
    down = pm.get_downbeats()
    assert np.allclose(np.diff(down[:8]), beats * 60.0 / tempo, atol=1e-3)
    assert len(b) >= 32 * beats - 1
    drums = [n.start for i in pm.instruments if i.is_drum for n in i.notes]
    assert drums, "a drum groove wrote no drum notes"
    # the written beats are where the music's are: a note starts within 30 ms of nearly every beat
    # (a swung groove moves its off-beats, not its beats; the pool leaves out a song off the
    # 16th / triplet grid by grid_fit, as the dev set does)
    starts = np.sort([n.start for i in pm.instruments for n in i.notes])
    near = [np.min(np.abs(starts - t)) < 0.03 for t in b[b < pm.get_end_time() - 1.0]]
    assert np.mean(near) >= 0.9


def test_a_missing_mma_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(mma_songs.shutil, "which", lambda _: None)
    with pytest.raises(RuntimeError, match="scripts/setup.sh installs the Debian package mma"):
        mma_songs.mma_command()
    assert pool_main(["--out", str(tmp_path / "pool"), "--mma-songs", "2", "--mma-only"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("synesthete-midi-pool: error: MMA is not installed")


def test_the_cli_builds_a_pool_of_mma_songs_the_trainer_reads(tmp_path, capsys):
    out = tmp_path / "pool"
    assert pool_main(["--out", str(out), "--mma-songs", "2", "--mma-only", "--max-seconds", "20", "--sounds", "varied"]) == 0
    index = json.loads((out / "index.json").read_text())
    names = [p["name"] for p in index["pieces"]]
    assert names and all(n.startswith("mma-") for n in names)
    assert all("MMA groove library" in p["source"] for p in index["pieces"])
    assert index["sounds"] == "varied" and "avldrums.lv2-soundfont" in index["soundfont"]
    for p in index["pieces"]:  # each piece says what it was rendered with
        truth = json.loads((out / p["truth"]).read_text())
        assert (truth["soundfont"], truth["drum_kit"]) == tuple(x.name if x else "" for x in piece_sound(p["name"], "varied"))
    pool = MidiPool(out, 24000)
    assert len(pool.pieces) == len(names)


def test_mma_only_without_songs_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        pool_main(["--mma-only"])
    assert e.value.code == 2
    assert "--mma-songs must be >= 0, and > 0 with --mma-only" in capsys.readouterr().err


# A one-step run that needs nothing but the pool: no evaluation, a short clip.
QUICK_RUN = ["--max-steps", "1", "--no-progress", "--workers", "0", "optim.batch_size=2", "data.clip_seconds=1.0",
             "data.crop_seconds=0.5", "eval.n_seeds=0", "eval.calibrate_seeds=0", "data.midi_share=0.5"]


def test_the_trainer_builds_a_missing_pool_of_mma_songs_once_and_trains_on_it(tmp_path, capsys):
    pool = tmp_path / "pool"
    run = [*QUICK_RUN, f'data.midi_pool="{pool}"', "data.midi_pool_mma_songs=2"]
    assert train_main([*run, "--out", str(tmp_path / "a")]) == 0
    index = pool / "index.json"
    names = [p["name"] for p in json.loads(index.read_text())["pieces"]]
    assert names and all(n.startswith("mma-") for n in names)
    assert "building 2 MMA songs" in capsys.readouterr().err
    built = index.stat().st_mtime_ns
    assert train_main([*run, "--out", str(tmp_path / "b")]) == 0  # the pool is there: read, not built again
    assert index.stat().st_mtime_ns == built and "building" not in capsys.readouterr().err
    assert json.loads(index.read_text())["sounds"] == "timgm6mb"


def test_the_trainer_builds_a_pool_of_varied_sounds_when_asked_and_a_bad_sound_is_one_line(tmp_path, capsys):
    pool = tmp_path / "pool"
    assert train_main([*QUICK_RUN, f'data.midi_pool="{pool}"', "data.midi_pool_mma_songs=1",
                       'data.midi_pool_sounds="varied"', "--out", str(tmp_path / "a")]) == 0
    assert json.loads((pool / "index.json").read_text())["sounds"] == "varied"
    capsys.readouterr()
    assert train_main(["--config", "presets/train_default.toml", "--print-config", 'data.midi_pool_sounds="fluid"']) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "data.midi_pool_sounds must be timgm6mb or varied, got 'fluid'" in err[0], err


def test_a_pool_the_trainer_cannot_build_is_one_error_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(mma_songs.shutil, "which", lambda _: None)
    assert train_main([*QUICK_RUN, f'data.midi_pool="{tmp_path / "pool"}"', "data.midi_pool_mma_songs=2",
                       "--out", str(tmp_path / "run")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("synesthete-train: error: data.midi_pool: MMA is not installed")
    assert errors[0].endswith("or train on procedural songs only: data.midi_share=0")
    assert not (tmp_path / "pool" / "index.json").exists()


def test_the_calibration_draw_is_other_songs_under_other_names_and_the_same_every_time():
    from synesthete_train.midi_pool import MMA_CALIBRATION_DRAW, mma_items

    train, calib = mma_items(6), mma_items(6, MMA_CALIBRATION_DRAW)
    assert calib == mma_items(6, MMA_CALIBRATION_DRAW)
    assert all(n.startswith("mma-") for n, _, _ in train)
    assert all(n.startswith(f"{MMA_CALIBRATION_DRAW}-") for n, _, _ in calib)
    assert not {t for _, _, t in train} & {t for _, _, t in calib}  # not one sheet the trainer hears


def test_the_trainer_calibrates_on_mma_songs_it_builds_apart_from_its_pool(tmp_path, capsys):
    calib = tmp_path / "calib"
    run = [*QUICK_RUN, "data.midi_share=0", "eval.calibrate_seeds=2", "eval.calibrate_midi_songs=2",
           f'eval.calibrate_midi_pool="{calib}"', "--out", str(tmp_path / "run")]
    assert train_main(run) == 0
    names = [p["name"] for p in json.loads((calib / "index.json").read_text())["pieces"]]
    assert names and all(n.startswith("mma-calibration-") for n in names)
    err = capsys.readouterr().err
    assert f"onset thresholds on 2 validation songs and {len(names)} MMA songs" in err, err
    from synesthete.checkpoint import load_model
    from synesthete.constants import STEMS

    assert len(load_model(tmp_path / "run" / "last.pt").cfg.onset_thresholds) == len(STEMS)
