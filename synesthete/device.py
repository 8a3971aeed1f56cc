"""Device choice: cuda, then mps, then cpu, unless the user names one.

Nothing in Synesthete assumes CUDA; everything that touches a device asks here.
"""

from __future__ import annotations

import torch

VALID = ("auto", "cpu", "cuda", "mps")
# torch's own choice of CPU threads (the physical cores), read before anything changes it.
DEFAULT_CPU_THREADS = torch.get_num_threads()


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


def cpu_has_native_bf16() -> bool:
    """True on x86 CPUs with AVX512-BF16 or AMX, where oneDNN runs bfloat16 convolutions and
    matmuls in hardware (1.5x faster training steps here). Elsewhere bf16 is emulated and slower
    than float32. torch exposes the probes privately: if they move, the answer is False."""
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(torch.cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except Exception:  # a probe that fails is a CPU we do not know: float32 is the safe answer
            pass
    return False


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed-precision dtype that is safe and faster on `device`, or None to run in float32."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return None


def training_threads(requested: int, data_workers: int) -> int:
    """torch threads for a training process: `requested` if > 0, else torch's default less one
    core per data worker (at least 1). A worker that shares a core with the step's threads
    stalls them at every parallel region: on 2 cores with 1 worker, 1 thread trains 1.3x faster
    in bf16 than 2 (docs/training.md)."""
    if requested > 0:
        return requested
    return max(1, DEFAULT_CPU_THREADS - max(0, data_workers))
