"""Fixtures shared by the core and the app tests."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest


def _tmpfs(folder: Path, size: str):
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up (needs root/CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 160 KiB tmpfs: a real filesystem that fills up after a few seconds of video."""
    yield from _tmpfs(tmp_path / "tiny", "160k")


@pytest.fixture
def small_disk(tmp_path: Path):
    """An 8 MiB tmpfs: room for a short show, until `fill_disk` fills it mid-set."""
    yield from _tmpfs(tmp_path / "small", "8m")


@pytest.fixture
def fill_disk():
    """`fill_disk(folder)`: fill the filesystem that holds `folder` (see `_fill_disk`)."""
    return _fill_disk


def _fill_disk(folder: Path) -> int:
    """Write a file into `folder` until its filesystem says ENOSPC (another program filling the
    disk mid-set); returns the bytes written. The file stays: the disk stays full."""
    written = 0
    with open(folder / "filler.bin", "wb", buffering=0) as f:
        chunk = b"\0" * 4096
        while True:
            try:
                written += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                return written


@pytest.fixture(scope="session")
def tiny_hearing_checkpoint(tmp_path_factory) -> str:
    """An untrained tiny hearing model at 24 kHz, 60 fps, saved as a real checkpoint (seeded)."""
    import torch

    from synesthete.checkpoint import save_checkpoint
    from synesthete.model.config import hearing_config
    from synesthete.model.hearing import build_hearing_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny-hearing.pt"
    save_checkpoint(path, build_hearing_model(hearing_config("tiny")))
    return str(path)


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
