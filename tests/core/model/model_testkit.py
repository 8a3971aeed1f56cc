"""Shared tiny shapes for the model tests (CPU, milliseconds per test); imported by test_*.py here."""

from __future__ import annotations

import itertools

import torch

from synesthete.model import ModelConfig, build_model, model_config
from synesthete.registry import available

STYLES = ("a", "b", "c")


def tiny_config(encoder: str = "conv", bridge: str = "gru", decoder: str = "conv", **overrides) -> ModelConfig:
    """The "tiny" size at 16x16 with 16 mel bands: every component, small enough for a unit test."""
    values = {**dict(styles=STYLES, n_mels=16, height=16, width=16), **overrides}
    return model_config("tiny", encoder={"name": encoder}, bridge={"name": bridge}, decoder={"name": decoder},
                        **values)


def all_combinations() -> list[tuple[str, str, str]]:
    import synesthete.model  # noqa: F401  (registers the built-ins)

    return list(itertools.product(available("encoder"), available("bridge"), available("decoder")))


def clip_inputs(cfg: ModelConfig, batch: int = 2, frames: int = 9, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(batch, frames, cfg.n_features, generator=g)  # (B, T, F)
    controls = torch.rand(batch, frames, cfg.n_control_inputs, generator=g)  # (B, T, C)
    return features, controls


def tiny_model(**overrides):
    torch.manual_seed(0)
    return build_model(tiny_config(**overrides)).eval()
