"""An exponential moving average of the weights: the copy that evaluation and checkpoints use.

With batches of 16 random clips the last weights of a run are one noisy sample around where the
optimizer is heading; an average over the last few hundred steps sits closer to it. The pattern is
timm's `ModelEmaV3`: a frozen copy of the model, lerped towards the live weights after every
optimizer step, with a warm-up so that the random initial weights are forgotten quickly:

    decay_t = min(decay, (1 + t) / (10 + t))     t = updates so far

(at t = 0 the average is nearly the model itself; `decay` applies from t ~ 10 / (1 - decay) on).
Only floating-point parameters and buffers are averaged; integer buffers are copied.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"weight average decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    def decay_at(self, updates: int) -> float:
        return min(self.decay, (1 + updates) / (10 + updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards `model`'s current weights (call after each optimizer step)."""
        w = 1.0 - self.decay_at(self.updates)
        for a, b in zip(self.model.state_dict().values(), model.state_dict().values()):
            if a.is_floating_point():
                a.lerp_(b, w)  # a += w * (b - a); state_dict() tensors are already detached
            else:
                a.copy_(b)
        self.updates += 1

    def load_state_dict(self, state: dict[str, torch.Tensor], updates: int) -> None:
        self.model.load_state_dict(state)
        self.updates = updates
