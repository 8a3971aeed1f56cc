"""Checkpoints that describe themselves: weights + model config + format version (+ train state).

    save_checkpoint("runs/a/last.pt", model, train_state={"step": 1200, "optimizer": opt.state_dict()})
    model = load_model("runs/a/last.pt")          # rebuilt from the stored config, eval mode
    model = load_model(None)                      # the shipped default checkpoint

A checkpoint is a `torch.save` of plain dicts, lists, numbers, strings and tensors, read back
with `torch.load(weights_only=True)`, so loading never unpickles code. Writes go to a temporary
file that replaces the target only when complete: a crash mid-save leaves the old checkpoint.
Every failure to load is one `CheckpointError` naming the file and the problem.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

import synesthete
from synesthete.config import ConfigError, from_dict, to_dict
from synesthete.model import AudioToVideo, ModelConfig, build_model

FORMAT_VERSION = 1
DEFAULT_CHECKPOINT = Path(synesthete.__file__).parent / "checkpoints" / "default.pt"
TRAIN_HINT = "synesthete-train --config presets/train_default.toml"
_REQUIRED = ("format_version", "config", "state_dict")


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message names the file and what is wrong."""


def cpu_weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """`module`'s state dict on the CPU, as a checkpoint stores it."""
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def save_checkpoint(path: str | Path, model: AudioToVideo, train_state: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write `model`'s weights and config (and optional training state / extra info) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format_version": FORMAT_VERSION,
        "config": to_dict(model.cfg),
        "state_dict": cpu_weights(model),
        "train_state": train_state,
        "extra": extra or {},
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def resolve_checkpoint(path: str | Path | None) -> Path:
    """`path` as a Path, or the shipped default for None; a clear error when there is none."""
    if path is None:
        if not DEFAULT_CHECKPOINT.is_file():
            raise CheckpointError(f"{DEFAULT_CHECKPOINT}: no default checkpoint is shipped with this install; "
                                  f"train one with `{TRAIN_HINT}` and pass its path")
        return DEFAULT_CHECKPOINT
    return Path(path)


def load_checkpoint(path: str | Path | None, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and validate a checkpoint dict: format_version, config (dict), state_dict, train_state, extra."""
    path = resolve_checkpoint(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, garbage bytes, a pickle with code in it, ...
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt, truncated or not a torch file): "
                              f"{reason}") from None
    if not isinstance(data, dict) or any(k not in data for k in _REQUIRED):
        have = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{path}: not a Synesthete checkpoint (expected keys {list(_REQUIRED)}, found {have})")
    if data["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {data['format_version']!r} is not supported "
                              f"(this Synesthete reads version {FORMAT_VERSION})")
    if not isinstance(data["config"], dict) or not isinstance(data["state_dict"], dict):
        raise CheckpointError(f"{path}: 'config' and 'state_dict' must be dicts")
    data.setdefault("train_state", None)
    data.setdefault("extra", {})
    return data


def config_from_checkpoint(data: dict[str, Any], path: str | Path = "checkpoint") -> ModelConfig:
    try:
        return from_dict(ModelConfig, data["config"], "config")
    except (ConfigError, ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: stored model config is invalid: {e}") from None


def load_model(path: str | Path | None, device: str | torch.device = "cpu") -> AudioToVideo:
    """Rebuild the model from the checkpoint's own config and load its weights (eval mode)."""
    path = resolve_checkpoint(path)
    data = load_checkpoint(path)
    cfg = config_from_checkpoint(data, path)
    try:
        model = build_model(cfg)
    except ValueError as e:
        raise CheckpointError(f"{path}: cannot build the stored model config: {e}") from None
    state = data["state_dict"]
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs config {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(state))
              if not isinstance(state[k], torch.Tensor) or state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        if shapes:
            parts.append(f"shape mismatch {shapes[:3]}{' ...' if len(shapes) > 3 else ''}")
        raise CheckpointError(f"{path}: weights do not match the stored config: {'; '.join(parts)}")
    model.load_state_dict(state)
    return model.to(device).eval()
