"""Streaming mp4 writer: h264 video + aac audio, written frame by frame, safe against a crash.

Both the live recorder and offline rendering write their files through `Mp4Writer`, a thin layer
over TorchCodec's multi-stream `torchcodec.encoders.Encoder`. Audio and video are kept in sync by
their counts alone: frame `n` covers samples `[n * sample_rate / fps, (n + 1) * sample_rate / fps)`.

Timing (what a player or decoder reads): frame `n` is stamped at `(n + 1) / fps`, the instant it
stands for, with a constant frame duration from the first frame (ffprobe reads exactly `fps`),
and the audio plays at its source time: sample 0 at 0 s, the aac encoder's priming trimmed by an
edit list. FFmpeg writes the audio's edit when the header follows the first packets
(`delay_moov`); `synesthete.mp4_timing` adds the video's as soon as the header is on the disk.

Crash safety: the file is a *fragmented* mp4 (muxer flags `frag_keyframe+empty_moov+
default_base_moof`, passed to FFmpeg's mov muxer through the encoder's `extra_options`). The header
(`moov`) is written first and holds no sample table; the media follows as self-describing
fragments (`moof` + `mdat`), one per keyframe, and a keyframe is forced every `keyframe_seconds`
(1 s by default). `flush_packets=1` hands each finished fragment to the OS at once, so a process
killed with SIGKILL leaves every fragment but the one being built: at most ~1 s plus the frames
still in the encoder is lost. If the process died in the middle of writing a fragment, the file
plays up to that point; `trim_partial_fragment(path)` cuts the torn tail off for a clean file
(the writer does this itself when a write fails, e.g. on a full disk).

Not thread-safe: one thread owns a writer (the live recorder gives it its own thread).
"""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synesthete.mp4_timing import stamp_frame_instants

# Sample rates FFmpeg's native aac encoder accepts (libavcodec/aacenctab.h, mpeg4audio rates).
AAC_SAMPLE_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
MP4_SUFFIXES = (".mp4", ".m4v", ".mov")
# Fragmented mp4: header first, then one moof+mdat per keyframe -> a killed writer leaves a playable file.
# delay_moov: the header is written with the first fragment, once the muxer knows each stream's
# start, so it can write the edit list that trims the aac priming (else every sound is 23 ms late).
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof+delay_moov"


class RecordingError(OSError):
    """Writing a recording failed. `disk_full` is True when the cause is a full disk (ENOSPC).

    The file written up to the failure stays playable (its torn last fragment is trimmed).
    """

    def __init__(self, message: str, *, path: str | Path | None = None, disk_full: bool = False):
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.disk_full = disk_full

    def __str__(self) -> str:  # OSError's default str shows the args tuple
        return str(self.args[0])


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    text = str(exc)
    return "No space left on device" in text or "Disk quota exceeded" in text


class Mp4Writer:
    """Write an mp4 (h264 yuv420p + optional aac) incrementally.

        with Mp4Writer("out.mp4", 1280, 720, fps=60, sample_rate=24000) as w:
            w.write_frames(frames)      # uint8 (N, H, W, 3) numpy or (N, 3, H, W) tensor
            w.write_audio(chunk)        # float32 (n,) or (channels, n), values in [-1, 1]

    `crf` (0-51, lower is better, 23 is x264's default) and `preset` ("ultrafast" ... "veryslow")
    trade size against speed; `threads` caps x264's threads (None: FFmpeg picks, one per core).
    On `close()` audio shorter than the video is padded with silence so both streams end
    together (`pad_audio_on_close=False` to keep it as written).
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        sample_rate: int | None = None,
        audio_channels: int = 1,
        *,
        crf: float = 23,
        preset: str = "ultrafast",
        threads: int | None = None,
        keyframe_seconds: float = 1.0,
        audio_bit_rate: int | None = None,
        pad_audio_on_close: bool = True,
    ):
        self.path = Path(path)
        self._check_args(width, height, fps, sample_rate, audio_channels, crf, keyframe_seconds)
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.sample_rate = int(sample_rate) if sample_rate is not None else None
        self.audio_channels = int(audio_channels)
        self.pad_audio_on_close = pad_audio_on_close
        self._frames = 0
        self._samples = 0
        self._closed = False
        self._failed: RecordingError | None = None
        self._stamped = False  # the header on the disk has its video edit list (or never can)

        from torchcodec.encoders import Encoder  # import here: torchcodec loads FFmpeg on import

        options: dict[str, Any] = {
            "movflags": MOVFLAGS,
            "flush_packets": 1,  # hand each finished fragment to the OS at once
            "g": max(1, round(self.fps * keyframe_seconds)),  # one keyframe (= one fragment) per ~1 s
        }
        if threads is not None:
            options["threads"] = int(threads)
        self._encoder = Encoder()
        self._video = self._encoder.add_video(
            height=self.height, width=self.width, frame_rate=self.fps, codec="libx264",
            pixel_format="yuv420p", crf=crf, preset=preset, extra_options=options, device="cpu",
        )
        self._audio = None
        if self.sample_rate is not None:
            self._audio = self._encoder.add_audio(
                sample_rate=self.sample_rate, num_channels=self.audio_channels, bit_rate=audio_bit_rate
            )
        try:
            self._encoder.open_file(self.path)
        except RuntimeError as e:
            self._closed = True
            raise RecordingError(f"cannot start recording {self.path}: {_ffmpeg_reason(e)}",
                                 path=self.path, disk_full=_is_disk_full(e)) from None

    def _check_args(self, width: int, height: int, fps: float, sample_rate: int | None,
                    audio_channels: int, crf: float, keyframe_seconds: float) -> None:
        if self.path.suffix.lower() not in MP4_SUFFIXES:
            raise ValueError(f"{self.path}: recording file must end in one of {', '.join(MP4_SUFFIXES)}")
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not parent.is_dir():
            raise RecordingError(f"cannot record to {self.path}: folder {parent} does not exist", path=self.path)
        if not os.access(parent, os.W_OK) or (self.path.exists() and not os.access(self.path, os.W_OK)):
            raise RecordingError(f"cannot record to {self.path}: not writable (permission denied)", path=self.path)
        for name, v in (("width", width), ("height", height)):
            if not isinstance(v, (int, np.integer)) or v < 2:
                raise ValueError(f"{name} must be an integer >= 2, got {v!r}")
        if width % 2 or height % 2:
            raise ValueError(f"h264 yuv420p needs an even width and height, got {width}x{height}; "
                             f"use {width - width % 2}x{height - height % 2}")
        if not (0 < fps <= 1000):
            raise ValueError(f"fps must be in (0, 1000], got {fps!r}")
        if sample_rate is not None and sample_rate not in AAC_SAMPLE_RATES:
            raise ValueError(f"audio sample rate {sample_rate} is not supported by aac; "
                             f"use one of {', '.join(map(str, AAC_SAMPLE_RATES))}")
        if audio_channels not in (1, 2):
            raise ValueError(f"audio_channels must be 1 (mono) or 2 (stereo), got {audio_channels!r}")
        if not (0 <= crf <= 51):
            raise ValueError(f"crf must be in [0, 51] (lower is better quality), got {crf!r}")
        if keyframe_seconds <= 0:
            raise ValueError(f"keyframe_seconds must be > 0, got {keyframe_seconds!r}")

    # -- what has been written ---------------------------------------------------------------
    @property
    def frames_written(self) -> int:
        return self._frames

    @property
    def samples_written(self) -> int:
        return self._samples

    @property
    def video_seconds_written(self) -> float:
        return self._frames / self.fps

    @property
    def audio_seconds_written(self) -> float:
        return self._samples / self.sample_rate if self.sample_rate else 0.0

    @property
    def closed(self) -> bool:
        return self._closed

    # -- writing -----------------------------------------------------------------------------
    def write_frames(self, frames: np.ndarray | torch.Tensor) -> None:
        """Append uint8 RGB frames: (N, H, W, 3) or (N, 3, H, W), numpy or torch; one frame without N."""
        self._check_open()
        video = self._as_nchw(frames)  # (N, 3, H, W) uint8
        self._guarded(self._video.add_frames, video)
        self._frames += video.shape[0]
        self._stamp()

    def write_audio(self, samples: np.ndarray | torch.Tensor) -> None:
        """Append float32 samples in [-1, 1]: (n,) mono or (channels, n)."""
        self._check_open()
        if self._audio is None:
            raise ValueError("this writer has no audio stream (sample_rate=None); pass sample_rate to record audio")
        audio = self._as_channels_first(samples)  # (C, n) float32
        if audio.shape[1] == 0:
            return
        self._guarded(self._audio.add_samples, audio)
        self._samples += audio.shape[1]
        self._stamp()

    def close(self) -> None:
        """Finish the file (pad audio, flush the encoder, write the index). Safe to call twice.

        After a failed write it only trims the torn tail, so the file plays up to the failure.
        """
        if self._closed:
            return
        self._closed = True
        if self._failed is not None:
            self._finish_failed()
            return
        try:
            if self._audio is not None and self.pad_audio_on_close:
                missing = round(self._frames * self.sample_rate / self.fps) - self._samples
                if missing > 0:
                    self._audio.add_samples(torch.zeros(self.audio_channels, missing))
                    self._samples += missing
            self._encoder.close()
        except RuntimeError as e:
            self._failed = self._error(e)
            self._finish_failed()
            raise self._failed from None
        self._stamped = False  # check once more on the finished file
        self._stamp()

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __repr__(self) -> str:
        audio = f", {self.sample_rate} Hz x{self.audio_channels}" if self.sample_rate else ", no audio"
        return (f"Mp4Writer({str(self.path)!r}, {self.width}x{self.height} @ {self.fps:g} fps{audio}, "
                f"{self._frames} frames written)")

    # -- internals -----------------------------------------------------------------------------
    def _stamp(self) -> None:
        """Put the video's edit list (frame n at (n + 1) / fps) into the header once it is on the disk.

        Until the first fragment is cut the header is not written (`delay_moov`): a stat and, once
        the file has grown, one read of its first kilobytes per call, then nothing.
        """
        if self._stamped:
            return
        try:
            if self.path.stat().st_size > 0:
                self._stamped = stamp_frame_instants(self.path, self.fps) is not None  # done, or never possible
        except OSError:
            pass  # unreadable for a moment: the next write or close() tries again

    def _check_open(self) -> None:
        if self._failed is not None:
            raise self._failed
        if self._closed:
            raise RecordingError(f"{self.path}: writer is closed", path=self.path)

    def _guarded(self, fn, tensor: torch.Tensor) -> None:
        try:
            fn(tensor)
        except (RuntimeError, OSError) as e:
            self._failed = self._error(e)
            raise self._failed from None

    def _error(self, e: BaseException) -> RecordingError:
        if _is_disk_full(e):
            return RecordingError(
                f"disk full while recording {self.path}: recording stopped after "
                f"{self.video_seconds_written:.1f} s; the file up to the last complete second plays",
                path=self.path, disk_full=True)
        return RecordingError(f"writing {self.path} failed: {_ffmpeg_reason(e)}", path=self.path)

    def _finish_failed(self) -> None:
        # Close the encoder explicitly even though it will fail again: TorchCodec marks it closed
        # before flushing, so its C++ destructor will not retry the flush and throw (which would
        # std::terminate the whole app). After an I/O error FFmpeg's output refuses every further
        # write (the error flag is sticky), so nothing lands after the trim below.
        try:
            self._encoder.close()
        except RuntimeError:
            pass
        self._encoder = self._video = self._audio = None
        try:
            trim_partial_fragment(self.path)
        except OSError:
            pass  # file vanished or unreadable: nothing more to save
        self._stamp()

    def _as_nchw(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        t = torch.from_numpy(_writable(frames)) if isinstance(frames, np.ndarray) else frames
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"frames must be a numpy array or torch tensor, got {type(frames).__name__}")
        if t.dtype != torch.uint8:
            raise ValueError(f"frames must be uint8 RGB in [0, 255], got dtype {t.dtype}")
        if t.ndim == 3:
            t = t.unsqueeze(0)
        h, w = self.height, self.width
        if t.ndim == 4 and tuple(t.shape[1:]) == (h, w, 3):
            t = t.permute(0, 3, 1, 2)  # (N, H, W, 3) -> (N, 3, H, W)
        elif not (t.ndim == 4 and tuple(t.shape[1:]) == (3, h, w)):
            raise ValueError(f"frames must be (N, {h}, {w}, 3) or (N, 3, {h}, {w}) for this "
                             f"{w}x{h} recording, got shape {tuple(frames.shape)}")
        return t.to("cpu").contiguous()

    def _as_channels_first(self, samples: np.ndarray | torch.Tensor) -> torch.Tensor:
        a = samples.detach().cpu().numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples)
        if a.dtype.kind != "f":
            raise ValueError(f"audio must be float samples in [-1, 1], got dtype {a.dtype}")
        if a.ndim == 1:
            a = a[None]
        if a.ndim != 2 or a.shape[0] != self.audio_channels:
            raise ValueError(f"audio must be (n,) or ({self.audio_channels}, n) for this "
                             f"{self.audio_channels}-channel recording, got shape {tuple(np.shape(samples))}")
        # Clip: aac would wrap nothing, but out-of-range floats turn into harsh clipping on decode.
        return torch.from_numpy(np.clip(a, -1.0, 1.0).astype(np.float32, copy=False))


def _writable(a: np.ndarray) -> np.ndarray:
    # torch.from_numpy warns on read-only arrays (e.g. np.broadcast_to views); copy those.
    return a if a.flags.writeable else a.copy()


def _ffmpeg_reason(e: BaseException) -> str:
    # TorchCodec prefixes errors with "function, file:line, "; keep the human part.
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text.split(".cpp:", 1)[-1].split(", ", 1)[-1] if ".cpp:" in text else text


def trim_partial_fragment(path: str | Path) -> int:
    """Cut a fragmented mp4 back to its last complete fragment; return the bytes removed.

    A writer killed (or out of disk) in the middle of a fragment leaves a `moof`/`mdat` pair
    cut short: players stop with a decode error there. This walks the top-level boxes
    (ftyp, moov, then moof+mdat pairs) and truncates the file after the last whole pair. Raises
    `RecordingError` if even the header (`moov`) is incomplete: then nothing can be saved.
    """
    path = Path(path)
    size = path.stat().st_size
    good = 0  # end of the last byte that belongs to a complete unit
    has_moov = False
    pending_moof = False
    with path.open("rb") as f:
        pos = 0
        while pos + 8 <= size:
            f.seek(pos)
            box_size, box_type = struct.unpack(">I4s", f.read(8))
            if box_size == 1:  # 64-bit size follows the type
                if pos + 16 > size:
                    break
                (box_size,) = struct.unpack(">Q", f.read(8))
            elif box_size == 0:  # box runs to the end of the file: only valid if it is complete
                box_size = size - pos
            if box_size < 8 or pos + box_size > size:
                break
            pos += box_size
            if box_type == b"moof":
                pending_moof = True
                continue
            if box_type == b"moov":
                has_moov = True
            pending_moof = False
            good = pos
    if not has_moov:
        raise RecordingError(f"{path}: the mp4 header is incomplete; nothing in this file can be played",
                             path=path)
    removed = size - good
    if removed:
        os.truncate(path, good)
    return removed
