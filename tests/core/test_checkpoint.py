"""Checkpoints: save -> load gives the same model; every bad file is one CheckpointError naming it."""

from __future__ import annotations

import pickle
import wave

import numpy as np
import pytest
import torch

from synesthete import checkpoint as ckpt
from synesthete.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    load_checkpoint,
    load_model,
    resolve_checkpoint,
    save_checkpoint,
)
from synesthete.model import build_model, model_config

STYLES = ("a", "b", "c")


def tiny(**overrides):
    torch.manual_seed(0)
    values = {**dict(styles=STYLES, n_mels=16, height=16, width=16), **overrides}
    return build_model(model_config("tiny", **values)).eval()


def inputs(model, frames: int = 4):
    g = torch.Generator().manual_seed(1)
    return (torch.randn(1, frames, model.cfg.n_features, generator=g),
            torch.rand(1, frames, model.cfg.n_control_inputs, generator=g))


@pytest.mark.parametrize("bridge,decoder", [("gru", "conv"), ("transformer", "implicit")])
def test_save_load_gives_identical_outputs(tmp_path, bridge, decoder):
    model = tiny(bridge={"name": bridge}, decoder={"name": decoder})
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    model(*inputs(model)).mean().backward()
    opt.step()
    path = save_checkpoint(tmp_path / "run" / "last.pt", model,
                           train_state={"step": 7, "optimizer": opt.state_dict()}, extra={"note": "hi"})
    loaded = load_model(path)
    assert loaded.cfg == model.cfg and not loaded.training
    with torch.no_grad():
        torch.testing.assert_close(loaded(*inputs(model)), model(*inputs(model)), atol=0, rtol=0)
    data = load_checkpoint(path)
    assert data["format_version"] == FORMAT_VERSION
    assert data["train_state"]["step"] == 7 and data["extra"] == {"note": "hi"}
    opt2 = torch.optim.AdamW(loaded.parameters(), 1e-3)
    opt2.load_state_dict(data["train_state"]["optimizer"])  # training resumes from it
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["last.pt"]  # no temp file left behind


@pytest.mark.parametrize("fail_at", ["torch.save", "os.replace"])
def test_save_replaces_atomically(tmp_path, monkeypatch, fail_at):
    # A save that dies half-way (disk full while writing, or just before the rename) must leave the
    # old checkpoint byte for byte, and no temp file; the next save then replaces it whole.
    import errno

    path = tmp_path / "m.pt"
    save_checkpoint(path, tiny())
    original = path.read_bytes()
    real_save = torch.save

    def half_written(payload, f):
        real_save(payload, f)
        f.truncate(f.tell() // 2)  # what a full disk leaves behind
        raise OSError(errno.ENOSPC, "No space left on device")

    def no_rename(*args):
        raise OSError(errno.EIO, "I/O error")

    if fail_at == "torch.save":
        monkeypatch.setattr(ckpt.torch, "save", half_written)
    else:
        monkeypatch.setattr(ckpt.os, "replace", no_rename)
    with pytest.raises(OSError):
        save_checkpoint(path, tiny(latent_dim=24))
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"], "the temp file is removed"
    save_checkpoint(path, tiny(latent_dim=24))
    assert load_model(path).cfg.latent_dim == 24


def check_error(path, *fragments):
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_file(tmp_path):
    check_error(tmp_path / "nope.pt", "no such checkpoint file")


def test_truncated_file(tmp_path):
    path = save_checkpoint(tmp_path / "t.pt", tiny())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    check_error(path, "not a Synesthete checkpoint", "damaged or truncated")


@pytest.mark.parametrize("content", [b"\x00\x13 definitely not a checkpoint" * 10, b"name = 'a preset'\n",
                                     np.random.default_rng(0).bytes(4096)])
def test_garbage_file(tmp_path, content):
    path = tmp_path / "g.pt"
    path.write_bytes(content)
    message = check_error(path, "not a Synesthete checkpoint", "not a torch file")
    # Never PyTorch's advice to retry with weights_only=False ("arbitrary code execution").
    assert "weights_only" not in message and "code execution" not in message


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with path.open("wb") as f:
        pickle.dump({"format_version": 1, "config": {}, "state_dict": {}, "hook": print}, f, protocol=2)
    message = check_error(path, "not a Synesthete checkpoint", "never runs code")
    assert "weights_only" not in message


def test_a_random_file_through_the_render_cli_is_one_line(tmp_path, capsys):
    from synesthete.render_cli import main

    ckpt = tmp_path / "random.pt"
    ckpt.write_bytes(np.random.default_rng(1).bytes(10_000))
    wav = tmp_path / "a.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(24_000)
        w.writeframes(bytes(4800))
    assert main([str(wav), "-o", str(tmp_path / "o.mp4"), "--checkpoint", str(ckpt), "--quiet"]) == 1
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "not a Synesthete checkpoint" in lines[0] and "weights_only" not in lines[0], lines


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(3)}, path)
    check_error(path, "not a Synesthete checkpoint", "state_dict")


def test_wrong_format_version(tmp_path):
    path = save_checkpoint(tmp_path / "v.pt", tiny())
    data = torch.load(path, weights_only=True)
    data["format_version"] = 99
    torch.save(data, path)
    check_error(path, "format version 99", f"version {FORMAT_VERSION}")


def test_config_that_does_not_match_the_weights(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny())
    data = torch.load(path, weights_only=True)
    data["config"]["latent_dim"] = 20  # every latent-sized layer now disagrees
    torch.save(data, path)
    check_error(path, "do not match", "shape mismatch")
    data["config"]["latent_dim"] = 16
    data["config"]["bridge"]["name"] = "none"
    torch.save(data, path)
    check_error(path, "missing keys", "unexpected keys")


def test_invalid_stored_config(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", tiny())
    data = torch.load(path, weights_only=True)
    data["config"]["colour"] = "red"
    torch.save(data, path)
    check_error(path, "stored model config is invalid", "colour")


def test_no_default_checkpoint_says_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setattr(ckpt, "DEFAULT_CHECKPOINT", tmp_path / "checkpoints" / "default.pt")
    with pytest.raises(CheckpointError, match="no default checkpoint.*synesthete-train --config presets/train_default.toml"):
        load_model(None)
    save_checkpoint(ckpt.DEFAULT_CHECKPOINT, tiny())
    assert resolve_checkpoint(None) == ckpt.DEFAULT_CHECKPOINT
    assert load_model(None).cfg.styles == STYLES


def test_retune_tracker_rewrites_the_stored_tracker_and_keeps_the_weights(tmp_path):
    """A tracker value tuned after training reaches a checkpoint without retraining: the stored
    config changes, the weights, training state and extra do not, and the model hears with it."""
    import subprocess
    import sys
    from pathlib import Path

    from synesthete.checkpoint import retune_tracker
    from synesthete.model import build_hearing_model, hearing_config

    torch.manual_seed(0)
    path = tmp_path / "h.pt"
    save_checkpoint(path, build_hearing_model(hearing_config("tiny")), train_state={"step": 7}, extra={"note": "x"})
    before = load_checkpoint(path)
    retune_tracker(path, ["reset=3e-6", "meters=[4]"])
    after = load_checkpoint(path)
    assert after["config"]["tracker"]["reset"] == 3e-6 and after["config"]["tracker"]["meters"] == [4]
    assert {k: v for k, v in after["config"].items() if k != "tracker"} == \
        {k: v for k, v in before["config"].items() if k != "tracker"}
    assert all(torch.equal(after["state_dict"][k], v) for k, v in before["state_dict"].items())
    assert (after["train_state"], after["extra"]) == ({"step": 7}, {"note": "x"})
    model = load_model(path)
    assert model.tracker.cfg.reset == 3e-6 and model.tracker.cfg.meters == (4,)
    # bad values are one line naming the key, and leave the file as it was
    with pytest.raises(CheckpointError, match=r"model\.tracker\.reset must be in \[0, 1\)"):
        retune_tracker(path, ["reset=2"])
    with pytest.raises(CheckpointError, match=r"model\.tracker\.nope: unknown key"):
        retune_tracker(path, ["nope=1"])
    # a value the model cannot serve: the tracker would read a phase head this model lacks
    with pytest.raises(CheckpointError, match=r"model\.tracker\.phase_weight must be 0 without a phase head"):
        retune_tracker(path, ["phase_weight=0.3"])
    assert load_checkpoint(path)["config"]["tracker"]["reset"] == 3e-6
    with pytest.raises(CheckpointError, match="pixel model checkpoint has no tracker"):
        save_checkpoint(tmp_path / "p.pt", tiny())
        retune_tracker(tmp_path / "p.pt", ["reset=1e-5"])
    # the script: --out leaves the source alone
    script = Path(__file__).parents[2] / "scripts" / "retune_tracker.py"
    done = subprocess.run([sys.executable, str(script), str(path), "reset=1e-5", "--out", str(tmp_path / "o.pt")],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "reset 3e-06 -> 1e-05" in done.stdout, done.stderr
    assert load_checkpoint(tmp_path / "o.pt")["config"]["tracker"]["reset"] == 1e-5
    assert load_checkpoint(path)["config"]["tracker"]["reset"] == 3e-6
    bad = subprocess.run([sys.executable, str(script), str(path), "reset=2"], capture_output=True, text=True)
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "model.tracker.reset" in bad.stderr
    with pytest.raises(CheckpointError, match="does not exist"):
        retune_tracker(path, ["reset=1e-5"], tmp_path / "no" / "o.pt")
    nowhere = subprocess.run([sys.executable, str(script), str(path), "reset=1e-5", "--out", str(tmp_path / "no" / "o.pt")],
                             capture_output=True, text=True)
    assert nowhere.returncode != 0 and nowhere.stderr.count("\n") == 1 and "does not exist" in nowhere.stderr


def test_store_onset_thresholds_rewrites_them_and_nothing_else(tmp_path):
    from synesthete.checkpoint import store_onset_thresholds
    from synesthete.constants import STEMS
    from synesthete.model import build_hearing_model, hearing_config

    path = tmp_path / "h.pt"
    save_checkpoint(path, build_hearing_model(hearing_config("tiny")), train_state={"step": 7})
    before = load_checkpoint(path)
    new = [0.45] + [0.3] * (len(STEMS) - 1)
    store_onset_thresholds(path, new, tmp_path / "o.pt")
    after = load_checkpoint(tmp_path / "o.pt")
    assert load_model(tmp_path / "o.pt").cfg.onset_thresholds == tuple(new)
    assert {k: v for k, v in after["config"].items() if k != "onset_thresholds"} == \
        {k: v for k, v in before["config"].items() if k != "onset_thresholds"}
    assert all(torch.equal(after["state_dict"][k], v) for k, v in before["state_dict"].items())
    assert after["train_state"] == {"step": 7} and load_checkpoint(path)["config"] == before["config"]
    with pytest.raises(CheckpointError, match=r"model\.onset_thresholds must be"):
        store_onset_thresholds(path, [0.3] * (len(STEMS) - 1))
    with pytest.raises(CheckpointError, match="pixel model checkpoint has no onset thresholds"):
        save_checkpoint(tmp_path / "p.pt", tiny())
        store_onset_thresholds(tmp_path / "p.pt", new)
