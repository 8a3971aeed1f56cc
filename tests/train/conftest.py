"""Shared fixtures for the training tests: a tiny, fast configuration on the CPU."""

from __future__ import annotations

from dataclasses import replace

import pytest

from synesthete_train.config import DataSettings, EvalConfig, OptimConfig, TrainConfig


@pytest.fixture
def tiny_cfg(tmp_path):
    from synesthete.model import model_config

    return TrainConfig(
        model=model_config("tiny", height=16, width=16),
        data=DataSettings(clip_seconds=0.5, num_workers=0, augment_prob=0.5),
        optim=OptimConfig(batch_size=2, lr=3e-3, warmup_steps=2),
        eval=EvalConfig(every=0, n_seeds=1, clip_seconds=0.5, size=16, av_align=False),
        max_steps=4,
        checkpoint_every=0,
        out=str(tmp_path / "run"),
        device="cpu",
        seed=0,
    )


def with_steps(cfg: TrainConfig, steps: int, **kw) -> TrainConfig:
    return replace(cfg, max_steps=steps, **kw)
