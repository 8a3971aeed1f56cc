"""A training config is checked whole when it is loaded: a value out of range is one error that
names its dotted key, before a model is built or a run folder written."""

from __future__ import annotations

from pathlib import Path

import pytest

from synesthete.config import ConfigError
from synesthete_train.cli import main
from synesthete_train.config import load_train_config
from synesthete_train.hearing import load_any_train_config

OUT_OF_RANGE = [
    ("max_steps=-3", "max_steps must be >= 1"),
    ("max_minutes=-1", "max_minutes must be >= 0"),
    ("checkpoint_every=-1", "checkpoint_every must be >= 0"),
    ("threads=-2", "threads must be >= 0"),
    ("optim.batch_size=0", "optim.batch_size must be >= 1"),
    ("optim.lr=-1e-3", "optim.lr must be > 0"),
    ("optim.lr=nan", "optim.lr must be > 0"),
    ("optim.warmup_steps=-5", "optim.warmup_steps must be >= 0"),
    ("optim.min_lr_ratio=2", "optim.min_lr_ratio must be in [0, 1]"),
    ("optim.grad_clip=-1", "optim.grad_clip must be >= 0"),
    ("loss.mse=-1", "loss.mse must be >= 0"),
    ("loss.temporal=nan", "loss.temporal must be >= 0"),
    ("data.num_workers=-1", "data.num_workers must be >= 0"),
    ("data.clip_seconds=0", "data.clip_seconds must be > 0"),
    ("data.augment_prob=1.5", "data.augment_prob must be in [0, 1]"),
    ("eval.size=4", "eval.size must be >= 8"),
    ("model.latent_dim=0", "model.latent_dim must be >= 1"),
    ("model.n_chroma=5", "model.n_chroma must be 0 (off), 12 (pitch classes), 24 (bass and harmony pitch classes), 36 (24 + fast harmony) or 48"),
    ('model.harmony_into="colour"', 'model.harmony_into must be "latent" or "palette"'),
    ("model.bridge.hidden=0", "model.bridge.hidden must be >= 1"),
    ("model.encoder.kernel=0", "model.encoder.kernel must be >= 1"),
    ("model.encoder.dilations=[1,0]", "model.encoder.dilations must be a list of frame dilations >= 1"),
    ("model.decoder.channels=[]", "model.decoder.channels must be a non-empty list"),
    ("model.decoder.channels=[32,0]", "model.decoder.channels must be a non-empty list"),
]


@pytest.mark.parametrize("override, message", OUT_OF_RANGE, ids=[o for o, _ in OUT_OF_RANGE])
def test_a_value_out_of_range_names_its_key(override, message):
    with pytest.raises(ConfigError) as e:
        load_train_config(None, [override])
    assert str(e.value).startswith(message)


def test_the_cli_refuses_it_before_anything_is_built_or_written(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["--out", str(out), "--max-steps", "0"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "synesthete-train: error: max_steps must be >= 1, got 0"  # one line, no header
    assert not out.exists()


def test_a_preset_file_with_a_bad_value_names_the_file_and_the_key(tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text("[optim]\nlr = -2\n")
    with pytest.raises(ConfigError, match=f"^{preset}: optim.lr must be > 0, got -2.0$"):
        load_train_config(preset)


def test_every_shipped_training_preset_passes():
    presets = sorted((Path(__file__).parents[2] / "presets").glob("train_*.toml"))
    assert len(presets) >= 2
    tasks = {type(load_any_train_config(preset)).__name__ for preset in presets}
    assert tasks == {"HearingTrainConfig", "TrainConfig"}
    assert type(load_any_train_config(presets[0].parent / "train_default.toml")).__name__ == "HearingTrainConfig"


HEARING_OUT_OF_RANGE = [
    ("max_steps=-3", "max_steps must be >= 1"),
    ("optim.lr=nan", "optim.lr must be > 0"),
    ("loss.onset=-1", "loss.onset must be >= 0"),
    ("loss.chord_root=nan", "loss.chord_root must be >= 0"),
    ("data.clip_seconds=0", "data.clip_seconds must be > 0"),
    ("data.room_prob=2", "data.room_prob must be in [0, 1]"),
    ("data.babble_prob=1.5", "data.babble_prob must be in [0, 1]"),
    ("eval.n_seeds=-1", "eval.n_seeds must be >= 0"),
    ("model.harmony_hidden=-1", "model.harmony_hidden must be >= 0"),
    ("model.bridge.hidden=0", "model.bridge.hidden must be >= 1"),
    ("task=\"painting\"", "task must be one of hearing, pixel"),
    # the keys added 2026-11-30 (docs/training.md#keys-added-2026-11-30)
    ('model.downbeat_head="bar"', "model.downbeat_head must be one of frame, next_beat"),
    ("model.n_chroma=13", "model.n_chroma must be 0 (off), 12"),
    ("model.harmony_context=3", "model.harmony_context: expected true or false"),
    ("model.band_flux=5", "model.band_flux must be 0 (off) or a divisor of n_mels = 64"),
    ("model.window_fall=512", "model.window_fall must be 0 (Hann) or in [1, n_fft / 2 = 512)"),
    ("model.fast_mels=-1", "model.fast_mels must be >= 0 (0 = off)"),
    ("model.fast_fft=32", "model.fast_fft must be >= 64 samples"),
    ("model.tracker.harmony_weight=-1", "model.tracker.harmony_weight must be >= 0"),
    ("model.tracker.drum_weight=1.5", "model.tracker.drum_weight must be in [0, 1]"),
    ("model.tracker.onset_mix=2", "model.tracker.onset_mix must be in [0, 1]"),
    ("model.tracker.harmony_lag_s=-0.1", "model.tracker.harmony_lag_s must be >= 0"),
    ("model.tracker.harmony_window_s=-0.1", "model.tracker.harmony_window_s must be >= 0"),
    ("loss.onset_shift=2", "loss.onset_shift must be 0 (the hit's frame) or 1"),
    ("loss.onset_late_frames=2", "loss.onset_late_frames must be 0 (the exact frame) or 1"),
    ("loss.beat_late_frames=2", "loss.beat_late_frames must be 0 (the exact frame) or 1"),
    ("data.onset_mask=2", "data.onset_mask: expected true or false"),
    ("data.onset_masked_db=5", "data.onset_masked_db must be < 0"),
]


@pytest.mark.parametrize("override, message", HEARING_OUT_OF_RANGE, ids=[o for o, _ in HEARING_OUT_OF_RANGE])
def test_the_hearing_recipe_names_the_key_of_a_bad_value(override, message):
    preset = Path(__file__).parents[2] / "presets" / "train_default.toml"
    with pytest.raises(ConfigError) as e:
        load_any_train_config(preset, [override])
    assert message in str(e.value) and "\n" not in str(e.value)
