"""Device choice: cuda, then mps, then cpu, unless the user names one.

Nothing in Synesthete assumes CUDA; everything that touches a device asks here.
"""

from __future__ import annotations

import torch

VALID = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str | None = "auto") -> torch.device:
    """Return the device to run on. `name` is "auto", "cpu", "cuda", "cuda:N" or "mps"."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    base = name.split(":")[0]
    if base not in VALID:
        raise ValueError(f"unknown device {name!r}: choose one of {', '.join(VALID)} (or cuda:N)")
    if base == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but CUDA is not available on this machine")
    if base == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was asked for but Metal (MPS) is not available on this machine")
    return torch.device(name)


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed-precision dtype that is safe on `device`, or None to run in float32."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return None
