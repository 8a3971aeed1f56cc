"""The live recorder: an `Mp4Writer` on its own thread behind a bounded queue.

The render loop hands each shown frame and the audio that fed it to `submit_frame`, which never
blocks: it appends to a queue under a lock held for a few microseconds and returns. When the
encoder falls behind and `queue_frames` frames are already waiting, the frame is dropped and
counted, but its audio is still queued: audio is never dropped, so the file's sound is the
complete performance and stays the master clock.

How audio and video stay in sync (by counts, no timestamps): audio is the clock. After writing
an audio chunk the recorder has written `A` samples, which cover `round(A * fps / sample_rate)`
video slots (the convention of docs/architecture.md: frame t stands for the instant (t + 1) / fps).
The frame submitted with that chunk, plus any submitted after it without audio (one chunk that
made several model frames), take the last slots before that count, in order. If the file is
behind (frames were dropped, or the render loop ran slower than `fps`), the previous frame is
repeated to fill the gap (`duplicated_frames`); a frame lands in its own slot or, when audio
arrives in uneven chunks, one slot later: never earlier than the sound it reacted to, never more
than one frame late. A frame that would land two or more slots late (render loop faster than
`fps`) is skipped (`skipped_frames`). Without an audio stream every submit is one slot and a
dropped frame repeats the previous one.

Scaling a frame to the recording size (OpenCV: `INTER_AREA` down, `INTER_LINEAR` up) also
happens on the recorder thread, never on the render thread. A failure (e.g. the disk is full) stops the
recording cleanly: `error` says why, the file so far stays playable, and `submit_frame` keeps
returning at once (False) so the show goes on.

Thread safety: `submit_frame`/`submit_audio` may be called from one producer thread (the render
loop) while the recorder thread consumes; both touch the queue only under `self._cond`'s lock,
held for a deque append/pop and a few counter updates. `stop()` may be called from any thread.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from synesthete.mp4_writer import Mp4Writer, RecordingError
from synesthete.session_log import session_log_path

FRAME, DROPPED, AUDIO = 0, 1, 2  # queue item kinds
MAX_NAME_TRIES = 1000
# Durability: what a kill -9 loses is what has not reached the file yet: the frames waiting in
# the queue (at most QUEUE_SECONDS when the encoder keeps up), the few inside x264, and the
# fragment being built (one keyframe interval, KEYFRAME_SECONDS; each fragment costs a keyframe:
# +1 % file size at 0.5 s against 1 s). Measured by `synesthete-bench record` (kill_loss_s_*;
# docs/recording.md).
KEYFRAME_SECONDS = 0.5
MAX_LAG_SECONDS = 3.0  # the encoder this far behind real time: the recording stops (bounded loss)
QUEUE_SECONDS = 0.5  # default frame queue: frames waiting for the encoder, in seconds of video


def claim_recording_path(path: str | Path) -> Path:
    """A recording path that touches no earlier show: `path` itself if neither it nor its session
    log exists, else the first free `NAME-2.mp4`, `NAME-3.mp4`, ... (mp4 and log both free).

    The name is claimed by creating the mp4 exclusively (O_EXCL), so two apps started at once
    never pick the same one; the caller owns the empty file (the writer opens it) and should
    remove it if it never starts recording. Errors (a missing or read-only folder) raise OSError.
    """
    path = Path(path)
    for n in range(1, MAX_NAME_TRIES + 1):
        candidate = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        if session_log_path(candidate).exists():
            continue
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"{path}: {MAX_NAME_TRIES} recordings of that name exist already; pick another name")


class Recorder:
    """Record the live window to mp4 without ever stalling the render loop.

        rec = Recorder("set.mp4", 1280, 720, fps=60, sample_rate=24000)
        rec.start()
        while running:
            rec.submit_frame(frame_hw3_uint8, audio_chunk_float32)   # returns at once
        summary = rec.stop()   # {"frames", "dropped", "seconds", "path", ...}

    `width`/`height` are the recording size (rounded down to even, as h264 yuv420p needs);
    submitted frames of any size are scaled to it on the recorder thread. `queue_frames`
    (default: `QUEUE_SECONDS` worth) bounds the frames waiting for the encoder; `threads` caps x264's
    threads so the encoder leaves cores to the model. `writer_factory` builds the writer (same
    signature as `Mp4Writer`).
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        sample_rate: int | None,
        *,
        audio_channels: int = 1,
        queue_frames: int | None = None,
        crf: float = 23,
        preset: str = "ultrafast",
        threads: int | None = 2,
        keyframe_seconds: float = KEYFRAME_SECONDS,
        max_lag_seconds: float = MAX_LAG_SECONDS,
        writer_factory: Callable[..., Mp4Writer] = Mp4Writer,
    ):
        if int(width) < 2 or int(height) < 2:
            raise ValueError(f"recording size must be at least 2x2, got {width}x{height}")
        self.path = Path(path)
        self.width, self.height = int(width) // 2 * 2, int(height) // 2 * 2
        self.fps = float(fps)
        self.sample_rate = int(sample_rate) if sample_rate is not None else None
        self.audio_channels = int(audio_channels)
        self.queue_frames = max(1, int(queue_frames if queue_frames is not None
                                       else round(QUEUE_SECONDS * self.fps)))
        self.max_lag_seconds = float(max_lag_seconds)
        # Entries of any kind (frames, dropped-frame markers, audio) waiting for the encoder. Audio
        # is never dropped alone (the file would lose sync), so when the encoder is `max_lag_seconds`
        # behind (or this many entries wait) it is hopelessly behind and the recording stops,
        # instead of growing without end and losing ever more to a crash.
        self.max_entries = max(self.queue_frames + 1, round(self.max_lag_seconds * self.fps))
        self._writer_kwargs = dict(audio_channels=audio_channels, crf=crf, preset=preset, threads=threads,
                                   keyframe_seconds=keyframe_seconds)
        self._writer_factory = writer_factory
        self._writer: Mp4Writer | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition(threading.Lock())
        self._items: collections.deque = collections.deque()  # (kind, frame | None, audio | None)
        self._frames_queued = 0
        self._stopping = False
        self._abort: str | None = None  # set by abort() or a full entry queue: the thread ends the file
        self._summary: dict[str, Any] | None = None
        self.error: str | None = None  # why the recording stopped early (None while fine)
        self.exception: BaseException | None = None
        # Producer-side counters (render thread, under the lock).
        self.submitted_frames = 0
        self.dropped_frames = 0
        self.refused_entries = 0  # submits refused because the recording had stopped (full queue, abort)
        self._samples_submitted = 0
        # Consumer-side counters (recorder thread).
        self.duplicated_frames = 0
        self.skipped_frames = 0
        self._last: np.ndarray | None = None  # (H, W, 3) last picture written, repeated to fill gaps
        self._batch: list[np.ndarray | None] = []  # frames of the newest audio chunk, not yet placed
        self._started_at = 0.0

    # -- state ---------------------------------------------------------------------------------
    @property
    def is_recording(self) -> bool:
        return self._thread is not None and not self._stopping and self.error is None and self._abort is None

    @property
    def frames_written(self) -> int:
        return self._writer.frames_written if self._writer is not None else 0

    @property
    def queued_frames(self) -> int:
        return self._frames_queued

    @property
    def lag_seconds(self) -> float:
        """Seconds of submitted show not yet handed to the encoder (audio clock; frames without audio).

        What a kill -9 now would lose, plus the fragment being built and the frames inside x264.
        Two counter reads, no lock: a momentary value for the HUD.
        """
        w = self._writer
        if w is None:
            return 0.0
        if self.sample_rate is not None:
            return max(0.0, (self._samples_submitted - w.samples_written) / self.sample_rate)
        return max(0.0, (self.submitted_frames - w.frames_written) / self.fps)

    def position(self) -> tuple[int, float]:
        """(frame index, seconds) of the newest submitted frame on the file's timeline.

        Seconds count submitted audio samples (the audio clock) when there is audio, else frames.
        This is the stamp a session log event logged now should carry.
        """
        if self.sample_rate is not None:
            t = self._samples_submitted / self.sample_rate
            return max(0, round(t * self.fps) - 1), t
        return max(0, self.submitted_frames - 1), self.submitted_frames / self.fps

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> "Recorder":
        """Open the file (errors such as an unwritable path raise here) and start the thread."""
        if self._thread is not None:
            raise RuntimeError(f"recorder for {self.path} was already started; make a new Recorder")
        self._writer = self._writer_factory(self.path, self.width, self.height, self.fps, self.sample_rate,
                                            **self._writer_kwargs)
        self._started_at = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="synesthete-recorder", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> dict[str, Any]:
        """Drain the queue, close the file and return a summary. Safe to call twice."""
        if self._thread is None:
            raise RuntimeError(f"recorder for {self.path} was never started")
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RecordingError(f"recorder for {self.path} did not finish writing within {timeout} s",
                                 path=self.path)
        if self._summary is None:
            w = self._writer
            self._summary = {
                "path": str(self.path), "frames": w.frames_written, "dropped": self.dropped_frames,
                "duplicated": self.duplicated_frames, "skipped": self.skipped_frames,
                "seconds": w.video_seconds_written, "audio_seconds": w.audio_seconds_written,
                "width": self.width, "height": self.height, "fps": self.fps,
                "wall_seconds": time.perf_counter() - self._started_at, "error": self.error,
            }
        return dict(self._summary)

    def abort(self, reason: str) -> None:
        """End the recording now from any thread, without waiting: nothing more is queued, what is
        queued is discarded, and the recorder thread closes the file (trimmed to whole fragments).
        `error` becomes `reason`. For a failure found elsewhere, e.g. the session log's disk is full.
        """
        with self._cond:
            if self._abort is None and self.error is None:
                self._abort = self.error = reason
            self._items.clear()
            self._frames_queued = 0
            self._cond.notify()

    def __enter__(self) -> "Recorder":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._thread is not None:
            self.stop()

    # -- producer side (render thread) ------------------------------------------------------------
    def submit_frame(self, frame: np.ndarray, audio: np.ndarray | None = None) -> bool:
        """Queue one shown frame (uint8 (H, W, 3), any size) and the audio that fed it.

        Never blocks. Returns True if the frame was queued, False if it was dropped (queue full)
        or the recorder is not recording. Keep the array unchanged after submitting it (it is
        read later on the recorder thread); pass a copy if you reuse the buffer.
        """
        if not (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3
                and frame.shape[2] == 3):
            raise ValueError(f"frame must be a uint8 numpy array (H, W, 3), got "
                             f"{type(frame).__name__} {getattr(frame, 'dtype', '')} {getattr(frame, 'shape', '')}")
        audio = self._check_audio(audio)
        if not self._accepting():
            return False
        with self._cond:
            if not self._room():
                return False
            self.submitted_frames += 1
            if audio is not None:
                self._samples_submitted += audio.shape[-1]
            if self._frames_queued >= self.queue_frames:
                self.dropped_frames += 1
                self._items.append((DROPPED, None, audio))
                queued = False
            else:
                self._frames_queued += 1
                self._items.append((FRAME, frame, audio))
                queued = True
            self._cond.notify()
        return queued

    def submit_audio(self, audio: np.ndarray) -> None:
        """Queue audio that came without a frame (e.g. while the window was frozen). Never blocks."""
        audio = self._check_audio(audio)
        if audio is None or not self._accepting():
            return
        with self._cond:
            if not self._room():
                return
            self._samples_submitted += audio.shape[-1]
            self._items.append((AUDIO, None, audio))
            self._cond.notify()

    def _accepting(self) -> bool:
        if self.is_recording:
            return True
        if self._thread is not None and not self._stopping:
            self.refused_entries += 1  # the recording stopped early; the show goes on
        return False

    def _room(self) -> bool:
        # Under the lock. A full entry queue ends the recording (the thread closes the file).
        if self._abort is None and (len(self._items) >= self.max_entries
                                    or self.lag_seconds > self.max_lag_seconds):
            self._abort = self.error = (f"recording {self.path} stopped: the encoder fell {self.max_lag_seconds:g} s "
                                        f"behind real time; record at a smaller size (--record-size 640x360)")
            self._items.clear()
            self._frames_queued = 0
            self._cond.notify()
        if self._abort is not None:
            self.refused_entries += 1
            return False
        return True

    def _check_audio(self, audio: np.ndarray | None) -> np.ndarray | None:
        if audio is None:
            return None
        if self.sample_rate is None:
            raise ValueError("this recorder has no audio stream (sample_rate=None); submit frames without audio")
        if not (isinstance(audio, np.ndarray) and audio.dtype.kind == "f"
                and (audio.ndim == 1 or (audio.ndim == 2 and audio.shape[0] == self.audio_channels))):
            raise ValueError(f"audio must be float32 numpy (n,) or ({self.audio_channels}, n), got "
                             f"{type(audio).__name__} {getattr(audio, 'dtype', '')} {getattr(audio, 'shape', '')}")
        return audio

    # -- consumer side (recorder thread) ----------------------------------------------------------
    def _run(self) -> None:
        writer = self._writer
        try:
            while True:
                with self._cond:
                    while not self._items and not self._stopping and self._abort is None:
                        self._cond.wait()
                    if self._abort is not None:
                        raise RecordingError(self._abort, path=self.path)
                    if not self._items:
                        break  # stopping and drained
                    kind, frame, audio = self._items.popleft()
                    if kind == FRAME:
                        self._frames_queued -= 1
                self._consume(writer, kind, frame, audio)
            self._fill_to_audio_clock(writer)
            writer.close()
        except Exception as e:  # never let the recorder thread take the show down
            self.exception = e
            self.error = str(e) if isinstance(e, RecordingError) else f"recording {self.path} failed: {e!r}"
            with self._cond:
                self._items.clear()
                self._frames_queued = 0
            try:
                writer.close()  # after a failed write this only trims the torn tail
            except Exception:
                pass

    def _consume(self, writer: Mp4Writer, kind: int, frame: np.ndarray | None, audio: np.ndarray | None) -> None:
        if self.sample_rate is None:  # no audio clock: one submit = one slot
            if kind == FRAME:
                self._write(writer, self._scale(frame))
            elif kind == DROPPED and self._last is not None:
                self._write(writer, self._last)
                self.duplicated_frames += 1
            return
        # Audio clock. A frame submitted with audio starts a batch; frames submitted after it
        # without audio (several model frames from one audio chunk) join it. A batch of n frames
        # ends at the audio clock after its chunk, so its frames take the n slots before it.
        if kind == AUDIO or audio is not None:
            self._place_batch(writer)
            if audio is not None:
                writer.write_audio(audio)
        if kind != AUDIO:
            self._batch.append(self._scale(frame) if kind == FRAME else None)  # None: dropped

    def _place_batch(self, writer: Mp4Writer) -> None:
        batch, self._batch = self._batch, []
        end = round(writer.samples_written * self.fps / self.sample_rate)  # slots the audio so far covers
        for j, picture in enumerate(batch):
            if picture is None:
                continue  # a dropped frame's slot is filled by repeating the previous picture
            slot = end - len(batch) + j
            if writer.frames_written > slot + 1:  # would land 2+ slots late: frames outrun the audio
                self.skipped_frames += 1
                self._last = picture
                continue
            self._repeat_last_until(writer, slot)
            self._write(writer, picture)

    def _fill_to_audio_clock(self, writer: Mp4Writer) -> None:
        if self.sample_rate is not None:
            self._place_batch(writer)
            self._repeat_last_until(writer, round(writer.samples_written * self.fps / self.sample_rate))

    def _repeat_last_until(self, writer: Mp4Writer, n_frames: int) -> None:
        while self._last is not None and writer.frames_written < n_frames:
            self._write(writer, self._last)
            self.duplicated_frames += 1

    def _write(self, writer: Mp4Writer, picture: np.ndarray) -> None:
        writer.write_frames(picture)
        self._last = picture

    def _scale(self, frame: np.ndarray) -> np.ndarray:
        if frame.shape[:2] == (self.height, self.width):
            return frame
        # Down: area averaging (no aliasing); up (the live render size stepped down mid-show): bilinear.
        down = frame.shape[0] * frame.shape[1] > self.height * self.width
        return cv2.resize(frame, (self.width, self.height),
                          interpolation=cv2.INTER_AREA if down else cv2.INTER_LINEAR)  # (h, w, 3)
