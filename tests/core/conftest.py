"""Fixtures shared by the core tests of hearing: a tiny hearing checkpoint and a wav writer."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import torch


def _write_wav(path: Path, audio: np.ndarray, rate: int) -> Path:
    """16-bit PCM wav of (n,) mono or (C, n) audio."""
    pcm = (np.clip(np.atleast_2d(audio), -1, 1) * 32767).astype("<i2")  # (C, n)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(pcm.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.T.tobytes())
    return path


@pytest.fixture(scope="session")
def write_wav():
    return _write_wav


@pytest.fixture(scope="session")
def hearing_checkpoint(tmp_path_factory) -> Path:
    """An untrained tiny hearing model's checkpoint (seeded): real weights, real file format."""
    from synesthete.checkpoint import save_checkpoint
    from synesthete.model.config import hearing_config
    from synesthete.model.hearing import HearingModel

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "hearing.pt"
    save_checkpoint(path, HearingModel(hearing_config("tiny", n_mels=16)))
    return path
