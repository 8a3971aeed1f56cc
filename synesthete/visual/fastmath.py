"""The transcendental functions the styles spend their time in, taken from numpy on CPU.

A look's frame is mostly sin/cos/exp/atan2 over the whole image. On CPU numpy's SIMD versions
(AVX-512/AVX2 kernels of its own) are 2-3x faster than torch's for float32 at live sizes
(640x360, one thread: sin 0.13 vs 0.29 ms, exp 0.11 vs 0.20, atan2 0.14 vs 0.33, log 0.09 vs 0.23)
and agree with them to a float32 rounding (sin within 6e-8, exp within 2e-7 relative). So the
styles call these instead of torch's: on a CPU tensor they run numpy on the tensor's memory (no
copy; `out` is a torch tensor too), on any other device (a GPU drawing the window's size) or
where autograd is recording they are torch's own.

The in-place forms (`sin_`, ...) take a tensor the caller owns (a fresh intermediate, never a
cached grid or an expanded view).
"""

from __future__ import annotations

import numpy as np
import torch


def numpy_ok(*xs: torch.Tensor) -> bool:
    """Whether these tensors take the numpy path (CPU float32, no autograd)."""
    return all(x.device.type == "cpu" and x.dtype == torch.float32 and not x.requires_grad for x in xs)


def _unary(x: torch.Tensor, np_fn, torch_fn, out: torch.Tensor | None) -> torch.Tensor:
    if not numpy_ok(x):
        return torch_fn(x) if out is None else torch_fn(x, out=out)
    if out is None:
        out = torch.empty_like(x, memory_format=torch.contiguous_format)
    np_fn(x.numpy(), out=out.numpy())
    return out


def sin(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return _unary(x, np.sin, torch.sin, out)


def cos(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return _unary(x, np.cos, torch.cos, out)


def exp(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return _unary(x, np.exp, torch.exp, out)


def log(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return _unary(x, np.log, torch.log, out)


def sin_(x: torch.Tensor) -> torch.Tensor:
    return sin(x, out=x)


def cos_(x: torch.Tensor) -> torch.Tensor:
    return cos(x, out=x)


def exp_(x: torch.Tensor) -> torch.Tensor:
    return exp(x, out=x)


def log_(x: torch.Tensor) -> torch.Tensor:
    return log(x, out=x)


def atan2(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """atan2(y, x) broadcast over y and x (a (T, H, 1) by (T, 1, W) pair needs no expanded copies)."""
    if not numpy_ok(y, x):
        return torch.atan2(y, x)
    out = torch.empty(torch.broadcast_shapes(y.shape, x.shape))
    np.arctan2(y.numpy(), x.numpy(), out=out.numpy())
    return out
