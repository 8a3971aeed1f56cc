"""Training configuration: one frozen dataclass tree, loaded from a TOML/YAML preset plus overrides.

The model section is the model's own `ModelConfig` (it travels inside every checkpoint). The audio
rate, frame rate and resolution live there only: the data engine takes them from the model, so
there is no second copy to drift out of step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from synesthete.config import load_config, require
from synesthete.constants import HELD_OUT_SEED_BASE
from synesthete.data import DataConfig
from synesthete.model import ModelConfig


@dataclass(frozen=True)
class DataSettings:
    clip_seconds: float = 2.0
    seed: int = 0
    augment_prob: float = 0.7
    reactivity_min: float = 0.5
    reactivity_max: float = 1.5
    styles: tuple[str, ...] = ()  # empty: every registered teacher style
    num_workers: int = 1  # DataLoader worker processes (0 = make data in the training process)
    # Target frames per clip: this many random pairs of consecutive frames (0 = every frame). The
    # memory runs over the whole clip either way; only the decoder and the teacher see fewer frames.
    # With 4 pairs a step costs a fraction of decoding all 120 frames (figures in docs/training.md).
    frame_pairs: int = 4
    # Of the pairs, this many end on an onset frame (the teacher's biggest moves; random pairs find
    # one 1 time in 9). 0 keeps the plain random draw.
    onset_pairs: int = 0

    def __post_init__(self) -> None:
        # The rest is checked by the data engine's own DataConfig (TrainConfig builds one).
        require(self.num_workers >= 0, "num_workers", ">= 0 (0 = make data in the training process)", self.num_workers)


@dataclass(frozen=True)
class OptimConfig:
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_steps: int = 50
    min_lr_ratio: float = 0.05  # cosine decay floor, as a fraction of lr
    grad_clip: float = 1.0
    # Evaluate and ship an exponential moving average of the weights (0 = the last weights as they
    # are). ~1 / (1 - decay) steps are averaged: 0.998 is the last ~500 (docs/training.md).
    ema_decay: float = 0.0

    def __post_init__(self) -> None:
        require(self.batch_size >= 1, "batch_size", ">= 1", self.batch_size)
        require(self.lr > 0, "lr", "> 0", self.lr)
        require(self.weight_decay >= 0, "weight_decay", ">= 0", self.weight_decay)
        require(self.warmup_steps >= 0, "warmup_steps", ">= 0", self.warmup_steps)
        require(0 <= self.min_lr_ratio <= 1, "min_lr_ratio", "in [0, 1] (a fraction of lr)", self.min_lr_ratio)
        require(self.grad_clip >= 0, "grad_clip", ">= 0 (0 = no clipping)", self.grad_clip)
        require(0 <= self.ema_decay < 1, "ema_decay", "in [0, 1) (0 = no average)", self.ema_decay)


@dataclass(frozen=True)
class LossConfig:
    l1: float = 1.0  # per-frame reconstruction against the teacher
    # Squared error, per frame. L1 is minimised by the median pixel, which on sparse bright
    # patterns over black is near black; MSE by the mean, which is what PSNR scores.
    mse: float = 0.0
    # The mean over clips of ln(the clip's squared error): each clip's MSE gradient divided by its
    # MSE, so a subtle style at 24 dB pulls as hard as a busy one at 12 dB. The evaluation's PSNR
    # is a mean of per-song dB, i.e. this up to a factor (-10 / ln 10).
    log_mse: float = 0.0
    temporal: float = 1.0  # frame-to-frame change should match the teacher's (rewards synchrony)
    beat: float = 0.1  # auxiliary: beat phase (sin, cos) from the latent
    onset: float = 0.1  # auxiliary: per-stem onsets from the latent
    chord: float = 0.0  # auxiliary: the chord root from the latent (needs model.chord_head = true)
    bar: float = 0.0  # auxiliary: bar phase (sin, cos) from the latent (needs model.bar_head = true)
    saturation: float = 1.0  # keeps the output logits within +-8, where the sigmoid still has a gradient

    def __post_init__(self) -> None:
        for f in fields(self):
            # A negative weight would train the model to make that error larger.
            require(getattr(self, f.name) >= 0, f.name, ">= 0 (0 = off)", getattr(self, f.name))


@dataclass(frozen=True)
class EvalConfig:
    every: int = 500  # steps between evaluations (0 = only at the end)
    # Held-out procedural songs, one per style in turn: 8 of 8 s are what `synesthete-eval
    # --seeds 8` scores (4 songs of 4 s swung the AV-Align ratio 0.46-0.94 between evaluations).
    n_seeds: int = 8  # 0 = no evaluation at all (timing runs, smoke tests)
    seed_base: int = HELD_OUT_SEED_BASE  # held-out seeds are seed_base, seed_base + 1, ...; never used in training
    clip_seconds: float = 8.0
    size: int = 128  # evaluation resolution (PSNR is reported at this size)
    av_align: bool = True

    def __post_init__(self) -> None:
        require(self.n_seeds >= 0, "n_seeds", ">= 0 (0 = no evaluation)", self.n_seeds)
        require(self.every >= 0, "every", ">= 0 (0 = only at the end)", self.every)
        require(self.clip_seconds > 0, "clip_seconds", "> 0", self.clip_seconds)
        require(self.size >= 8, "size", ">= 8", self.size)


@dataclass(frozen=True)
class TrackingConfig:
    mode: Literal["disabled", "offline", "online"] = "disabled"
    project: str = "synesthete"


@dataclass(frozen=True)
class TrainConfig:
    """The pixel model's recipe (the optional neural look; presets/train_neural.toml). The hearing
    model, the default, has its own: synesthete_train.hearing.HearingTrainConfig."""

    task: Literal["pixel"] = "pixel"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataSettings = field(default_factory=DataSettings)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    max_steps: int = 2000
    max_minutes: float = 0.0  # wall-clock budget; 0 = none. Training stops cleanly at whichever comes first.
    checkpoint_every: int = 250  # 0 = only at the end
    out: str = "runs/default"
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    seed: int = 0
    threads: int = 0  # torch CPU threads in the training process; 0 = torch's default less one per data worker

    def __post_init__(self) -> None:
        # Checked here, before a model is built or a folder written: a bad value is one line at once.
        require(self.max_steps >= 1, "max_steps", ">= 1", self.max_steps)
        require(self.max_minutes >= 0, "max_minutes", ">= 0 (0 = no time limit)", self.max_minutes)
        require(self.checkpoint_every >= 0, "checkpoint_every", ">= 0 (0 = only at the end)", self.checkpoint_every)
        require(self.threads >= 0, "threads", ">= 0 (0 = automatic)", self.threads)
        data_config(self)


def data_config(cfg: TrainConfig) -> DataConfig:
    """The data engine's config for a training run: rates and sizes come from the model."""
    m, d = cfg.model, cfg.data
    return DataConfig(sample_rate=m.sample_rate, fps=m.fps, clip_seconds=d.clip_seconds, height=m.height,
                      width=m.width, seed=d.seed, augment_prob=d.augment_prob, reactivity_min=d.reactivity_min,
                      reactivity_max=d.reactivity_max, styles=d.styles, frame_pairs=d.frame_pairs,
                      onset_pairs=d.onset_pairs)


def load_train_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    return load_config(TrainConfig, path, overrides)


TASKS = ("hearing", "pixel")


def preset_task(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> str:
    """Which model a preset trains: its top-level `task` ("hearing", the default, or "pixel"), or a
    `task=...` override."""
    from synesthete.config import ConfigError, _parse_scalar, read_mapping

    task = read_mapping(path).get("task", "hearing") if path is not None else "hearing"
    for o in overrides:
        key, _, value = o.partition("=")
        if key.strip() == "task":
            task = _parse_scalar(value.strip())
    if task not in TASKS:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    return str(task)
