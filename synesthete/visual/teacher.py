"""The teacher: renders the training target frames as a weighted blend of the registered styles.

The data engine draws style weights with `random_style_weights` (mostly one style, sometimes a
blend of two), renders the target frames with `render_teacher`, and hands the same weight vector
to the model as its style controls; that is how a model learns to morph between styles.
Weight vectors are always in `STYLE_NAMES` order (the registered style names, sorted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import torch

import synesthete.visual.styles  # noqa: F401  (registers every style)
from synesthete.music_state import MusicState
from synesthete.registry import available, build
from synesthete.visual.signals import Style

STYLE_NAMES: tuple[str, ...] = tuple(available("style"))

# Chance that a random draw blends two styles instead of showing one.
BLEND_PROBABILITY = 0.3
# Range of the first style's weight in a random blend (keeps blends visibly mixed).
BLEND_RANGE = (0.15, 0.85)


@lru_cache(maxsize=None)
def get_style(name: str) -> Style:
    """The (stateless, shared) instance of a registered style."""
    if name not in STYLE_NAMES:
        raise ValueError(f"unknown style {name!r}; known styles: {', '.join(STYLE_NAMES)}")
    return build("style", name)


def normalize_weights(weights: Mapping[str, float] | Sequence[float] | np.ndarray | torch.Tensor) -> np.ndarray:
    """Style weights as a float64 vector in STYLE_NAMES order, summing to 1.

    `weights` is a dict name -> weight (missing names weigh 0) or a vector of len(STYLE_NAMES).
    Unknown names, a wrong length, negative, non-finite or all-zero weights raise ValueError.
    """
    n = len(STYLE_NAMES)
    if isinstance(weights, Mapping):
        unknown = [k for k in weights if k not in STYLE_NAMES]
        if unknown:
            raise ValueError(f"unknown style name(s) {', '.join(map(repr, unknown))}; known styles: {', '.join(STYLE_NAMES)}")
        vec = np.zeros(n, np.float64)
        for k, w in weights.items():
            vec[STYLE_NAMES.index(k)] = float(w)
    else:
        if isinstance(weights, torch.Tensor):
            weights = weights.detach().cpu().numpy()
        vec = np.asarray(weights, dtype=np.float64).reshape(-1)
        if vec.shape != (n,):
            raise ValueError(f"style weight vector must have {n} entries (one per style in STYLE_NAMES: "
                             f"{', '.join(STYLE_NAMES)}), got shape {np.shape(weights)}")
    if not np.all(np.isfinite(vec)):
        raise ValueError(f"style weights must be finite, got {vec.tolist()}")
    if np.any(vec < 0):
        raise ValueError(f"style weights must be >= 0, got {vec.tolist()}")
    total = vec.sum()
    if total <= 0:
        raise ValueError("style weights are all zero; give at least one style a positive weight")
    return vec / total


def render_teacher(ctrl: MusicState, weights: Mapping[str, float] | Sequence[float] | np.ndarray | torch.Tensor,
                   height: int, width: int, reactivity: float = 1.0) -> torch.Tensor:
    """Target frames (T, 3, height, width), float32 in [0, 1]: the weighted blend of the styles.

    Styles with weight 0 are not rendered at all, so a single-style draw costs one style.
    """
    vec = normalize_weights(weights)
    out: torch.Tensor | None = None
    for i in np.flatnonzero(vec):
        frames = get_style(STYLE_NAMES[i]).render(ctrl, height, width, reactivity)  # (T, 3, H, W)
        if out is None:
            out = frames if vec[i] == 1.0 else frames.mul_(float(vec[i]))
        else:
            out.add_(frames, alpha=float(vec[i]))
    assert out is not None  # normalize_weights guarantees one positive weight
    return out.clamp_(0.0, 1.0)


def random_style_weights(rng: np.random.Generator) -> np.ndarray:
    """A random style vector (len(STYLE_NAMES),) float32 summing to 1: usually one style
    (one-hot), with probability BLEND_PROBABILITY a blend of two distinct styles."""
    n = len(STYLE_NAMES)
    vec = np.zeros(n, np.float32)
    if n > 1 and rng.random() < BLEND_PROBABILITY:
        i, j = rng.choice(n, size=2, replace=False)
        w = float(rng.uniform(*BLEND_RANGE))
        vec[i], vec[j] = w, 1.0 - w
    else:
        vec[rng.integers(n)] = 1.0
    return vec
