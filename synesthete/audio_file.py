"""Audio files in: streamed decoding (TorchCodec/FFmpeg), downmix, and resampling to a model's rate.

Every part that reads an audio file goes through here: `synesthete-render`, replaying a live set
from its recording, `synesthete-eval`, `synesthete-analyze`, and the live app's `file:` source.
`AudioFile` decodes in windows of a few seconds (TorchCodec's ranged decoding, by presentation
time, so the windows join sample-exactly: tested against a whole-file decode for wav, flac, mp3
and ogg), so memory does not grow with the file's length. `model_audio` turns those windows into
mono chunks at the model's rate through the one streaming resampler (`synesthete.resampler`,
libsoxr), whose output does not depend on the chunking: live file playback and an offline render
hear the same samples.

A file that cannot be read raises `AudioFileError`, a ValueError whose message names the file and
the reason in one line, which each CLI prints as its error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from synesthete.resampler import Resampler

# Seconds decoded per window: ~2 MB of stereo float32 at 48 kHz; large enough that the per-call
# cost (a seek check, a small allocation) is negligible, small enough to stay flat in memory.
CHUNK_SECONDS = 5.0


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

    # The streaming interface of `AudioFile`, so a renderer takes either.
    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def duration_s(self) -> float:
        return self.seconds

    def chunks(self, seconds: float = 0.0) -> Iterator[np.ndarray]:
        """The samples as one (C, N) chunk: they are in memory already (`seconds` is ignored)."""
        yield self.samples


def _reason(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0].split(", ")[-1] if text else "unknown error"


class AudioFile:
    """An audio file (or the audio track of a video) opened for streamed decoding."""

    def __init__(self, path: str | Path) -> None:
        from torchcodec.decoders import AudioDecoder

        self.path = path = Path(path)
        if not path.exists():
            raise AudioFileError(f"{path}: no such file")
        if not path.is_file():
            raise AudioFileError(f"{path}: not a file (give an audio file: wav, flac, mp3, ogg, or a video with sound)")
        if path.stat().st_size == 0:
            raise AudioFileError(f"{path}: the file is empty")
        try:
            self._decoder = AudioDecoder(str(path))
        except ValueError as e:
            if "audio stream" in str(e):
                raise AudioFileError(f"{path}: has no audio stream (a video without sound?); give a file with audio") from None
            raise AudioFileError(f"{path}: cannot decode audio ({str(e).splitlines()[0]})") from None
        except RuntimeError as e:
            raise AudioFileError(f"{path}: not a readable audio or video file ({_reason(e)}); "
                                 "give wav, flac, mp3, ogg or a video with sound") from None
        self._used = False  # the decoder opened here serves the first pass
        meta = self._decoder.metadata
        self.sample_rate = int(meta.sample_rate)
        self.channels = int(meta.num_channels)
        self.begin_s = float(meta.begin_stream_seconds or 0.0)
        self.duration_s = float(meta.duration_seconds) if meta.duration_seconds else None  # from the header

    @staticmethod
    def _window(decoder, start: float, stop: float | None) -> np.ndarray | None:
        try:
            data = decoder.get_samples_played_in_range(start, stop).data.numpy()
        except RuntimeError:  # TorchCodec raises for a range that reaches past the end
            return None
        return data if data.shape[1] else None

    def chunks(self, seconds: float = CHUNK_SECONDS) -> Iterator[np.ndarray]:
        """The file's samples from the start, float32 (C, n) windows of about `seconds` each.

        Windows are consecutive ranges of presentation time, so their concatenation is exactly
        the whole stream (encoder priming already trimmed, as a whole-file decode trims it).
        """
        from torchcodec.decoders import AudioDecoder

        # A decoder of its own per pass: TorchCodec's decoders only move forward reliably (one
        # that has read a file with an edit list cannot go back to its start).
        decoder = self._decoder if not self._used else AudioDecoder(str(self.path))
        self._used = True
        k = 0
        while True:
            start = self.begin_s + k * seconds
            data = self._window(decoder, start, start + seconds)
            if data is None:  # the last window reaches past the end: take what is left
                data = self._window(decoder, start, None)
                if data is None:
                    if k == 0:
                        raise AudioFileError(f"{self.path}: the audio stream holds no samples")
                    return
                yield data.astype(np.float32, copy=False)
                return
            yield data.astype(np.float32, copy=False)
            k += 1


def decode_audio(path: str | Path) -> DecodedAudio:
    """Every audio sample of `path` (any format FFmpeg reads) as float32 (C, N), in memory.

    For short files and tests; long files go through `AudioFile.chunks` / `model_audio`.
    """
    file = AudioFile(path)
    return DecodedAudio(np.concatenate(list(file.chunks()), axis=1), file.sample_rate, file.path)


def downmix(samples: np.ndarray) -> np.ndarray:
    """(C, n) -> (n,) mono: the channel mean (what the model hears of a stereo file)."""
    return samples.mean(axis=0, dtype=np.float32)


def model_audio(chunks: Iterator[np.ndarray], in_rate: int, model_rate: int) -> Iterator[np.ndarray]:
    """(C, n) windows at `in_rate` -> mono float32 chunks at `model_rate`, the filter's tail included."""
    resampler = Resampler(in_rate, model_rate)
    for chunk in chunks:
        out = resampler.process(downmix(chunk))
        if out.size:
            yield out
    tail = resampler.flush()
    if tail.size:
        yield tail


def to_model_audio(audio: DecodedAudio, model_rate: int) -> np.ndarray:
    """Decoded audio as the model hears it: mono float32 (S,) at `model_rate`."""
    return np.concatenate([np.zeros(0, np.float32),
                           *model_audio(iter([audio.samples]), audio.sample_rate, model_rate)])


def read_model_audio(path: str | Path, model_rate: int) -> np.ndarray:
    """A whole file as the model hears it: mono float32 (S,) at `model_rate` (streamed decode)."""
    file = AudioFile(path)
    return np.concatenate([np.zeros(0, np.float32), *model_audio(file.chunks(), file.sample_rate, model_rate)])
