"""Fixtures shared by the core and the app tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 160 KiB tmpfs: a real filesystem that fills up after a few seconds of video."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up (needs root/CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture(scope="session")
def tiny_ab_checkpoint(tmp_path_factory) -> str:
    """An untrained tiny model with styles ("a", "b") at 24 kHz, saved as a real checkpoint (seeded)."""
    import torch

    from synesthete.checkpoint import save_checkpoint
    from synesthete.model import build_model, model_config

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny-ab.pt"
    save_checkpoint(path, build_model(model_config("tiny", styles=("a", "b"), sample_rate=24_000)))
    return str(path)
