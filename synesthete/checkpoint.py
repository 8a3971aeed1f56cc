"""Checkpoints that describe themselves: weights + model kind + config + format version (+ train state).

    save_checkpoint("runs/a/last.pt", model, train_state={"step": 1200, "optimizer": opt.state_dict()})
    model = load_model("runs/a/last.pt")          # rebuilt from the stored config, eval mode
    model = load_model(None)                      # the shipped default: the hearing model
    model = load_model(None, kind="pixel")        # the shipped pixel model (the "neural" look)

Two kinds of model: "hearing" (`HearingModel`, audio -> music state; the shipped default.pt) and
"pixel" (`AudioToVideo`, audio + style controls -> frames; the shipped neural.pt). Format version 2
stores the kind; version 1 files (written before the hearing model existed) are pixel models and
still load.

A checkpoint is a `torch.save` of plain dicts, lists, numbers, strings and tensors, read back
with `torch.load(weights_only=True)`, so loading never unpickles code. Writes go to a temporary
file that replaces the target only when complete: a crash mid-save leaves the old checkpoint.
Every failure to load is one `CheckpointError` naming the file and the problem.
"""

from __future__ import annotations

import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

import synesthete
from synesthete.config import ConfigError, apply_overrides, from_dict, to_dict
from synesthete.model import (AudioToVideo, HearingConfig, HearingModel, ModelConfig, TrackerConfig, build_hearing_model,
                              build_model)

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: before the kind was stored (every one a pixel model)
DEFAULT_CHECKPOINT = Path(synesthete.__file__).parent / "checkpoints" / "default.pt"
NEURAL_CHECKPOINT = Path(synesthete.__file__).parent / "checkpoints" / "neural.pt"
TRAIN_HINT = "synesthete-train --config presets/train_default.toml"
_REQUIRED = ("format_version", "config", "state_dict")
# kind -> (config class, builder, model class)
KINDS: dict[str, tuple[type, Any, type]] = {
    "hearing": (HearingConfig, build_hearing_model, HearingModel),
    "pixel": (ModelConfig, build_model, AudioToVideo),
}
AnyModel = HearingModel | AudioToVideo


def model_kind(model: torch.nn.Module) -> str:
    for kind, (_, _, cls) in KINDS.items():
        if isinstance(model, cls):
            return kind
    raise TypeError(f"cannot checkpoint a {type(model).__name__}: known kinds are {', '.join(KINDS)}")


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message names the file and what is wrong."""


def cpu_weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """`module`'s state dict on the CPU, as a checkpoint stores it."""
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def save_checkpoint(path: str | Path, model: AnyModel, train_state: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write `model`'s weights and config (and optional training state / extra info) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format_version": FORMAT_VERSION,
        "kind": model_kind(model),
        "config": to_dict(model.cfg),
        "state_dict": cpu_weights(model),
        "train_state": train_state,
        "extra": extra or {},
    }
    return _write(path, payload)


def _write(path: Path, payload: dict[str, Any]) -> Path:
    """torch.save to a temporary file that replaces `path` only when complete."""
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


def retune_tracker(path: str | Path | None, overrides: list[str] | tuple[str, ...],
                   out: str | Path | None = None) -> Path:
    """Rewrite a hearing checkpoint's stored tracker config with `key=value` overrides of
    `model.tracker` (e.g. "reset=1e-5"), weights, training state and extra untouched, to `out` (or
    in place). The tracker has no weights: a tracker value tuned after training needs no retraining,
    and a checkpoint stores every tracker value it was trained with, so new defaults alone do not
    reach it."""
    def retune(config: dict[str, Any]) -> None:
        tracker = apply_overrides(config.get("tracker", {}), overrides)
        config["tracker"] = to_dict(from_dict(TrackerConfig, tracker, "model.tracker"))

    return _rewrite_hearing_config(path, out, retune, "has no tracker")


def store_onset_thresholds(path: str | Path | None, thresholds: tuple[float, ...] | list[float],
                           out: str | Path | None = None) -> Path:
    """Rewrite a hearing checkpoint's per-stem onset thresholds (`HearingConfig.onset_thresholds`,
    one per stem in STEMS order; not weights: the live detector's cut, calibrated on validation
    songs) to `out` (or in place), everything else untouched."""
    def store(config: dict[str, Any]) -> None:
        config["onset_thresholds"] = [float(t) for t in thresholds]

    return _rewrite_hearing_config(path, out, store, "has no onset thresholds")


def _rewrite_hearing_config(path: str | Path | None, out: str | Path | None, change, lacks: str) -> Path:
    """Load a hearing checkpoint, `change(config)` in place, check that the whole config still
    builds (a value may need something of the model: a tracker phase_weight a phase head), errors
    named as the model's keys (`model.`), and write it to `out` or back to `path` atomically."""
    path = resolve_checkpoint(path)
    if out is not None and not Path(out).resolve().parent.is_dir():
        raise CheckpointError(f"{out}: folder {Path(out).parent} does not exist")
    data = load_checkpoint(path)
    if data["kind"] != "hearing":
        raise CheckpointError(f"{path}: a {data['kind']} model checkpoint {lacks}")
    try:
        change(data["config"])
        from_dict(KINDS["hearing"][0], data["config"], "model")
    except (ConfigError, ValueError) as e:
        raise CheckpointError(f"{path}: {e}") from None
    return _write(Path(out) if out is not None else path, data)


def resolve_checkpoint(path: str | Path | None, kind: str = "hearing") -> Path:
    """`path` as a Path, or for None the shipped checkpoint of that kind (hearing: default.pt, pixel:
    neural.pt); a clear error when there is none."""
    if path is None:
        shipped = NEURAL_CHECKPOINT if kind == "pixel" else DEFAULT_CHECKPOINT
        if not shipped.is_file():
            hint = TRAIN_HINT if kind != "pixel" else "synesthete-train --config presets/train_neural.toml"
            raise CheckpointError(f"{shipped}: no {'default' if kind != 'pixel' else 'neural'} checkpoint is shipped "
                                  f"with this install; train one with `{hint}` and pass its path")
        return shipped
    return Path(path)


def _unreadable(path: Path, e: Exception) -> str:
    """Why torch could not load `path`, in our words. PyTorch's own message for most garbage is its
    weights_only advice ("re-run with weights_only=False ... arbitrary code execution"): wrong for
    a file that is no checkpoint at all, and dangerous advice for one that carries code."""
    text = str(e)
    if "Unsupported global" in text or "Unsupported class" in text or "GLOBAL" in text:
        return ("not a Synesthete checkpoint: it holds pickled Python objects besides weights, and "
                "Synesthete never runs code from a checkpoint")
    with path.open("rb") as f:
        zip_header = f.read(4) == b"PK\x03\x04"  # torch.save writes a zip archive; a cut one lost its index
    if zip_header or zipfile.is_zipfile(path):
        return "not a Synesthete checkpoint: a damaged or truncated torch file"
    return "not a Synesthete checkpoint (not a torch file: random bytes, text or another format)"


def load_checkpoint(path: str | Path | None, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and validate a checkpoint dict: format_version, config (dict), state_dict, train_state, extra."""
    path = resolve_checkpoint(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols of garbage files
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, garbage bytes, a pickle with code in it, ...
        raise CheckpointError(f"{path}: {_unreadable(path, e)}") from None
    if not isinstance(data, dict) or any(k not in data for k in _REQUIRED):
        have = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{path}: not a Synesthete checkpoint (expected keys {list(_REQUIRED)}, found {have})")
    if data["format_version"] not in READABLE_VERSIONS:
        raise CheckpointError(f"{path}: checkpoint format version {data['format_version']!r} is not supported "
                              f"(this Synesthete reads versions {', '.join(map(str, READABLE_VERSIONS))}, "
                              f"writes version {FORMAT_VERSION})")
    data.setdefault("kind", "pixel")  # version 1 stored pixel models only
    if data["kind"] not in KINDS:
        raise CheckpointError(f"{path}: unknown model kind {data['kind']!r} (known: {', '.join(KINDS)})")
    if not isinstance(data["config"], dict) or not isinstance(data["state_dict"], dict):
        raise CheckpointError(f"{path}: 'config' and 'state_dict' must be dicts")
    data.setdefault("train_state", None)
    data.setdefault("extra", {})
    return data


def config_from_checkpoint(data: dict[str, Any], path: str | Path = "checkpoint") -> ModelConfig | HearingConfig:
    """The stored config, as the config class of the checkpoint's kind."""
    try:
        return from_dict(KINDS[data.get("kind", "pixel")][0], data["config"], "config")
    except (ConfigError, ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: stored model config is invalid: {e}") from None


def load_model(path: str | Path | None, device: str | torch.device = "cpu", kind: str | None = None) -> AnyModel:
    """Rebuild the model from the checkpoint's own kind and config and load its weights (eval mode).

    `kind` ("hearing" or "pixel"): the caller needs that kind; None picks the shipped one of it
    (None and None: the hearing default), and a file of another kind is a `CheckpointError`."""
    path = resolve_checkpoint(path, kind or "hearing")
    data = load_checkpoint(path)
    if kind is not None and data["kind"] != kind:
        raise CheckpointError(f"{path}: a {data['kind']} model checkpoint, but a {kind} model is needed here"
                              + (" (the pixel model of the neural look: synesthete/checkpoints/neural.pt)"
                                 if kind == "pixel" else ""))
    cfg = config_from_checkpoint(data, path)
    try:
        model = KINDS[data["kind"]][1](cfg)
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
