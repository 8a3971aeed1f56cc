"""Streaming mp4 writer: h264 video + aac audio, written frame by frame, safe against a crash.

Both the live recorder and offline rendering write their files through `Mp4Writer`, a thin layer
over PyAV (FFmpeg's libavcodec + libavformat, its own build): x264 for the picture, FFmpeg's aac for
the sound, the mov muxer. Frames go in as RGB (converted here, `synesthete.yuv420`) or as yuv420p
planes already (`write_yuv420`: a render converts at its drawn size and scales only the planes;
why PyAV and not TorchCodec's RGB-only encoder: docs/performance.md, "The yuv420p path").
Audio and video are kept in sync by their counts alone: frame `n` covers samples
`[n * sample_rate / fps, (n + 1) * sample_rate / fps)`.

Timing (what a player or decoder reads): frame `n` is stamped at `(n + 1) / fps`, the instant it
stands for, with a constant frame duration from the first frame (ffprobe reads exactly `fps`),
and the audio plays at its source time: sample 0 at 0 s, the aac encoder's priming trimmed by an
edit list. FFmpeg writes the audio's edit when the header follows the first packets
(`delay_moov`); `synesthete.mp4_timing` adds the video's as soon as the header is on the disk.

Crash safety: the file is a *fragmented* mp4 (muxer flags `frag_keyframe+empty_moov+
default_base_moof`, options of FFmpeg's mov muxer). The header
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
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from synesthete.mp4_timing import stamp_frame_instants
from synesthete.yuv420 import rgb_to_yuv420, yuv420_shape

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

        import av  # import here: PyAV loads its FFmpeg on import

        self._av_errors = (av.FFmpegError, RuntimeError, OSError)
        rate = Fraction(self.fps).limit_denominator(1001)  # 60, 30000/1001, 25, ...
        try:
            self._container = av.open(str(self.path), mode="w", container_options={
                "movflags": MOVFLAGS,
                "flush_packets": "1",  # hand each finished fragment to the OS at once
            })
        except self._av_errors as e:
            self._closed = True
            raise RecordingError(f"cannot start recording {self.path}: {_ffmpeg_reason(e)}",
                                 path=self.path, disk_full=_is_disk_full(e)) from None
        try:
            self._video = self._container.add_stream("libx264", rate=rate)
            self._video.width, self._video.height, self._video.pix_fmt = self.width, self.height, "yuv420p"
            self._video.options = {
                "crf": f"{crf:g}", "preset": preset,
                "g": str(max(1, round(self.fps * keyframe_seconds))),  # one keyframe (= one fragment) per ~1 s
            }
            ctx = self._video.codec_context
            ctx.thread_count = 0 if threads is None else int(threads)  # 0: x264 picks, one per core
            ctx.thread_type = "FRAME"  # x264's own frame threads (the FFmpeg CLI's default), not slices
            self._video_rate = rate
            self._audio = None
            if self.sample_rate is not None:
                self._audio = self._container.add_stream("aac", rate=self.sample_rate)
                self._audio.codec_context.layout = self._layout = "mono" if self.audio_channels == 1 else "stereo"
                self._audio.codec_context.format = "fltp"
                if audio_bit_rate is not None:
                    self._audio.codec_context.bit_rate = int(audio_bit_rate)
            self._container.start_encoding()  # opens the codecs now: a bad setting fails here, not mid-show
        except self._av_errors as e:
            self._closed = True
            self._close_container_quietly()
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
        rgb = self._as_nhwc(frames)  # (N, H, W, 3) uint8
        self.write_yuv420(rgb_to_yuv420(rgb, self.width, self.height))

    def write_yuv420(self, frames: np.ndarray) -> None:
        """Append yuv420p frames, (N, H*3/2, W) uint8 (Y, then Cb, then Cr, BT.601 limited range:
        `synesthete.yuv420.rgb_to_yuv420` makes them, at any source size)."""
        self._check_open()
        shape = yuv420_shape(self.width, self.height)
        if not (isinstance(frames, np.ndarray) and frames.dtype == np.uint8 and frames.ndim == 3
                and frames.shape[1:] == shape):
            raise ValueError(f"yuv420p frames must be uint8 (N, {shape[0]}, {shape[1]}) for this "
                             f"{self.width}x{self.height} recording, got {getattr(frames, 'shape', type(frames))}")
        self._guarded(self._encode_video, np.ascontiguousarray(frames))
        self._stamp()

    def write_audio(self, samples: np.ndarray | torch.Tensor) -> None:
        """Append float32 samples in [-1, 1]: (n,) mono or (channels, n)."""
        self._check_open()
        if self._audio is None:
            raise ValueError("this writer has no audio stream (sample_rate=None); pass sample_rate to record audio")
        audio = self._as_channels_first(samples)  # (C, n) float32
        if audio.shape[1] == 0:
            return
        self._guarded(self._encode_audio, audio)
        self._stamp()

    def close(self) -> None:
        """Finish the file (pad audio, flush the encoders, write the index). Safe to call twice.

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
                    self._encode_audio(np.zeros((self.audio_channels, missing), np.float32))
            for stream in (self._video, self._audio):
                if stream is not None:
                    self._container.mux(stream.encode(None))  # what the encoder still holds
            self._container.close()
        except self._av_errors as e:
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

    def _guarded(self, fn, data: np.ndarray) -> None:
        try:
            fn(data)
        except self._av_errors as e:
            self._failed = self._error(e)
            raise self._failed from None

    def _encode_video(self, frames: np.ndarray) -> None:
        import av

        for frame in frames:  # x264 copies the picture in: the buffer is free when encode returns
            picture = av.VideoFrame.from_numpy_buffer(frame, format="yuv420p")
            picture.pts, picture.time_base = self._frames, 1 / self._video_rate
            self._container.mux(self._video.encode(picture))
            self._frames += 1

    def _encode_audio(self, audio: np.ndarray) -> None:
        import av

        chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio), format="fltp", layout=self._layout)
        chunk.sample_rate, chunk.pts, chunk.time_base = self.sample_rate, self._samples, Fraction(1, self.sample_rate)
        self._container.mux(self._audio.encode(chunk))  # re-framed to aac's 1024 samples inside
        self._samples += audio.shape[1]

    def _error(self, e: BaseException) -> RecordingError:
        if _is_disk_full(e):
            return RecordingError(
                f"disk full while recording {self.path}: recording stopped after "
                f"{self.video_seconds_written:.1f} s; the file up to the last complete second plays",
                path=self.path, disk_full=True)
        return RecordingError(f"writing {self.path} failed: {_ffmpeg_reason(e)}", path=self.path)

    def _close_container_quietly(self) -> None:
        # On a path that already failed: a second error from close() would hide the first.
        try:
            self._container.close()
        except self._av_errors:
            pass

    def _finish_failed(self) -> None:
        # After an I/O error FFmpeg's output refuses every further write (the error flag is
        # sticky): closing may fail again, and nothing lands after the trim below.
        self._close_container_quietly()
        self._container = self._video = self._audio = None
        try:
            trim_partial_fragment(self.path)
        except OSError:
            pass  # file vanished or unreadable: nothing more to save
        self._stamp()

    def _as_nhwc(self, frames: np.ndarray | torch.Tensor) -> np.ndarray:
        if not isinstance(frames, (np.ndarray, torch.Tensor)):
            raise ValueError(f"frames must be a numpy array or torch tensor, got {type(frames).__name__}")
        if frames.dtype not in (np.uint8, torch.uint8):
            raise ValueError(f"frames must be uint8 RGB in [0, 255], got dtype {frames.dtype}")
        a = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else frames
        if a.ndim == 3:
            a = a[None]
        h, w = self.height, self.width
        if a.ndim == 4 and a.shape[1:] == (3, h, w):
            a = a.transpose(0, 2, 3, 1)  # (N, 3, H, W) -> (N, H, W, 3)
        elif not (a.ndim == 4 and a.shape[1:] == (h, w, 3)):
            raise ValueError(f"frames must be (N, {h}, {w}, 3) or (N, 3, {h}, {w}) for this "
                             f"{w}x{h} recording, got shape {tuple(frames.shape)}")
        return np.ascontiguousarray(a)

    def _as_channels_first(self, samples: np.ndarray | torch.Tensor) -> np.ndarray:
        a = samples.detach().cpu().numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples)
        if a.dtype.kind != "f":
            raise ValueError(f"audio must be float samples in [-1, 1], got dtype {a.dtype}")
        if a.ndim == 1:
            a = a[None]
        if a.ndim != 2 or a.shape[0] != self.audio_channels:
            raise ValueError(f"audio must be (n,) or ({self.audio_channels}, n) for this "
                             f"{self.audio_channels}-channel recording, got shape {tuple(np.shape(samples))}")
        # Clip: aac would wrap nothing, but out-of-range floats turn into harsh clipping on decode.
        return np.clip(a, -1.0, 1.0).astype(np.float32, copy=False)


def _ffmpeg_reason(e: BaseException) -> str:
    # The first line of PyAV's message ("[Errno 2] No such file or directory: '...'"), or the type's name.
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


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
