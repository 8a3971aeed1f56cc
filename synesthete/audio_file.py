"""Audio files in: decoding (TorchCodec/FFmpeg), downmix and resampling to a model's rate.

Every part that reads an audio file goes through here: `synesthete-render`, replaying a live set
from its recording, `synesthete-eval`, `synesthete-analyze`. A file that cannot be read raises
`AudioFileError`, a ValueError whose message names the file and the reason in one line, which
each CLI prints as its error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


class AudioFileError(ValueError):
    """The file cannot be read as audio; the message names the file and the reason."""


@dataclass
class DecodedAudio:
    samples: np.ndarray  # (C, N) float32, the file's own channels and rate
    sample_rate: int
    path: Path

    @property
    def seconds(self) -> float:
        return self.samples.shape[1] / self.sample_rate


def decode_audio(path: str | Path) -> DecodedAudio:
    """Decode every audio sample of `path` (any format FFmpeg reads) as float32 (C, N)."""
    from torchcodec.decoders import AudioDecoder

    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if not path.is_file():
        raise AudioFileError(f"{path}: not a file (give an audio file: wav, flac, mp3, ogg, or a video with sound)")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: the file is empty")
    try:
        decoder = AudioDecoder(str(path))
        decoded = decoder.get_all_samples()
    except ValueError as e:
        if "audio stream" in str(e):
            raise AudioFileError(f"{path}: has no audio stream (a video without sound?); give a file with audio") from None
        raise AudioFileError(f"{path}: cannot decode audio ({str(e).splitlines()[0]})") from None
    except RuntimeError as e:
        reason = str(e).strip().splitlines()[0].split(", ")[-1] if str(e).strip() else "unknown error"
        raise AudioFileError(f"{path}: not a readable audio or video file ({reason}); "
                             "give wav, flac, mp3, ogg or a video with sound") from None
    samples = decoded.data.numpy().astype(np.float32, copy=False)  # (C, N)
    if samples.ndim != 2 or samples.shape[1] == 0:
        raise AudioFileError(f"{path}: the audio stream holds no samples")
    return DecodedAudio(samples, int(decoded.sample_rate), path)


def to_model_audio(audio: DecodedAudio, model_rate: int) -> np.ndarray:
    """Downmix to mono (channel mean) and resample to `model_rate`. Returns float32 (S,)."""
    import torchaudio

    mono = torch.from_numpy(audio.samples.mean(axis=0))  # (N,)
    if audio.sample_rate != model_rate:
        mono = torchaudio.functional.resample(mono, audio.sample_rate, model_rate)
    return mono.numpy().astype(np.float32, copy=False)


def read_model_audio(path: str | Path, model_rate: int) -> np.ndarray:
    """A whole file as the model hears it: mono float32 (S,) at `model_rate`."""
    return to_model_audio(decode_audio(path), model_rate)
