"""Rendering audio to an mp4 of the visuals: the library behind `synesthete-render`.

`render_to_mp4` drives a fresh `Performer` (the live window's path: causal features, model step,
controls, post effects) over decoded audio in chunks, fits each frame to the output size the way
the live window fits it to the screen, and writes video and the *original* audio through
`Mp4Writer`, atomically: to a hidden temporary name next to the output, renamed only when
complete, deleted on any error. The CLI (`synesthete.render_cli`) and the render benchmark call it.
"""

from __future__ import annotations

import collections
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

from synesthete.frame_size import even_size, scale_interpolation
from synesthete.resampler import Resampler

# Threads of torch and OpenCV for a render (synesthete-render --threads, and the bench that measures
# it): per-frame work is small and the video encoder takes the other cores; at 2 torch threads on
# the 2-core box a 720p60 render ran 1.28x real time against 1.79x at 1 (2026-11-30, quiet box).
RENDER_THREADS = 1
# Model frames per `Performer.process` call: big enough to amortise the Python overhead, small
# enough that the progress bar moves and the mp4 streams are interleaved finely.
CHUNK_FRAMES = 30
# Batches of drawn frames waiting for the encoder thread (scale to the output + x264 + aac): the
# hearing and the looks make the next batch on the calling thread meanwhile, so on two cores the
# two halves of a frame's cost overlap instead of adding up. Bounded: memory stays a few batches
# (30 frames of 640x360 are 21 MB). 0: encode on the calling thread (no overlap).
ENCODE_QUEUE_BATCHES = 2


class RenderError(ValueError):
    """The input cannot be rendered; the message names the file and the reason."""


@dataclass
class RenderStats:
    frames: int
    audio_seconds: float
    wall_seconds: float
    size: tuple[int, int]  # (width, height)
    fps: float
    output: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def realtime_factor(self) -> float:
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else float("inf")


class _Fifo:
    """Channels-first samples waiting to be written: pushed as decoded, taken as video catches up."""

    def __init__(self, channels: int) -> None:
        self._parts: collections.deque[np.ndarray] = collections.deque()
        self.channels = channels
        self.size = 0  # samples held

    def push(self, samples: np.ndarray) -> None:
        if samples.shape[1]:
            self._parts.append(samples)
            self.size += samples.shape[1]

    def take(self, n: int) -> np.ndarray:
        n = min(n, self.size)
        out, got = [], 0
        while got < n:
            part = self._parts.popleft()
            use = min(part.shape[1], n - got)
            out.append(part[:, :use])
            if use < part.shape[1]:
                self._parts.appendleft(part[:, use:])
            got += use
        self.size -= n
        return np.concatenate(out, axis=1) if out else np.zeros((self.channels, 0), np.float32)


class _Encoder:
    """The writer's half of a render on its own thread: scale each batch to the output, encode it,
    then the audio up to its end, in submission order. `put` blocks while `ENCODE_QUEUE_BATCHES`
    wait (the render never runs ahead by more); an error on the thread (a full disk) is raised by
    the next `put` or by `finish`, unchanged, so the caller reports it as before. With
    `depth=0` every batch is encoded inside `put` on the calling thread. The libraries doing the
    work (OpenCV's colour transform and resize, x264 and the muxer through PyAV) release the GIL, so the threads overlap.
    """

    def __init__(self, writer, width: int, height: int, on_frames: Callable[[np.ndarray], None] | None,
                 depth: int = ENCODE_QUEUE_BATCHES) -> None:
        import queue
        import threading

        self.writer, self.width, self.height, self.on_frames = writer, width, height, on_frames
        from synesthete.yuv420 import yuv420_shape

        self._yuv = np.empty((1, *yuv420_shape(width, height)), np.uint8)  # x264 copies it in: free after each write
        self.error: BaseException | None = None
        self._queue: queue.Queue | None = queue.Queue(maxsize=depth) if depth > 0 else None
        self._halt = threading.Event()
        self._thread = None
        if self._queue is not None:
            self._thread = threading.Thread(target=self._run, name="synesthete-render-encoder", daemon=True)
            self._thread.start()

    def put(self, frames: Sequence[np.ndarray] | None, audio: np.ndarray | None) -> None:
        """Queue k (h, w, 3) uint8 frames at the render size ((k, h, w, 3) or a list: the render
        hands over the performer's own pictures, never a stacked copy; or None) and the audio after them."""
        if self._queue is None:
            self._encode(frames, audio)
            return
        self._offer((frames, audio))

    def finish(self) -> None:
        """Wait until everything queued is written; raise the thread's error if it had one."""
        if self._queue is not None:
            self._offer(None)
            self._thread.join()
        if self.error is not None:
            raise self.error

    def abandon(self) -> None:
        """Stop without writing what waits (the render failed elsewhere); never raises."""
        if self._queue is None:
            return
        self._halt.set()
        self._drain()
        self._thread.join(timeout=30)

    def _offer(self, item) -> None:
        import queue

        while True:
            if self.error is not None:
                raise self.error
            if not self._thread.is_alive():
                raise RuntimeError("the render's encoder thread ended early")
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _drain(self) -> None:
        import queue

        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass

    def _run(self) -> None:
        import queue

        while not self._halt.is_set():
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is None:
                return
            try:
                self._encode(*item)
            except BaseException as e:  # handed to the rendering thread by put/finish
                self.error = e
                self._drain()
                return

    def _encode(self, frames: Sequence[np.ndarray] | None, audio: np.ndarray | None) -> None:
        if frames is not None and len(frames):
            # Frame by frame through one reused buffer: a fresh 1.4 MB array per 720p frame cost
            # its page faults (~0.13 ms), and the planes are still in cache when x264 copies them in.
            for frame in frames:
                self.writer.write_yuv420(fit_yuv420((frame,), self.width, self.height, out=self._yuv))
            if self.on_frames is not None:
                self.on_frames(fit_frames(np.asarray(frames), self.width, self.height))
        if audio is not None and audio.shape[1]:
            self.writer.write_audio(audio)


def mp4_audio_format(channels: int, sample_rate: int) -> tuple[int, int]:
    """(channels, rate) the original audio is written at: <= 2 channels (more are mixed to mono),
    at its own rate when aac takes it, else 48 kHz."""
    from synesthete.mp4_writer import AAC_SAMPLE_RATES

    return (channels if channels <= 2 else 1), (sample_rate if sample_rate in AAC_SAMPLE_RATES else 48_000)


def stream_frames(performer, chunks: Iterable[np.ndarray], controls, events: Iterable[tuple[int, dict]] = (),
                  chunk_frames: int = CHUNK_FRAMES, n_frames: int | None = None,
                  draw=True, stack: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray | list[np.ndarray]]]:
    """Drive `performer` over model-rate mono `chunks` (any sizes); yield (indices (k,), images
    (k, H, W, 3) uint8) of the drawn frames, batch by batch (`draw` as `Performer.process` takes it;
    `stack=False`: the k (H, W, 3) pictures as a list, without the copy into one array).

    The audio is cut into whole hops; the last partial hop is padded with silence, and with
    `n_frames` exactly that many frames are made (audio beyond them dropped, missing audio
    silence). Each (frame_index, event) is applied to `controls` right before that model frame,
    exactly as the live loop applies a queued event between frames (`apply_event`: a control
    event, or a render size change); batches are cut at event frames so the chunking never moves
    an event. Memory holds one chunk, never the whole stream.
    """
    hop = performer.hop
    pending = sorted(events, key=lambda e: e[0])
    j = 0
    start = performer.frames_done
    f = start
    buf = np.zeros(0, np.float32)
    source = iter(chunks)
    exhausted = False
    while True:
        while not exhausted and buf.size < chunk_frames * hop:
            chunk = next(source, None)
            if chunk is None:
                exhausted = True
                if n_frames is None:
                    buf = np.pad(buf, (0, -buf.size % hop))  # the last partial hop, padded
            else:
                buf = np.concatenate([buf, np.asarray(chunk, np.float32)])
        if n_frames is not None:
            left = (start + n_frames - f) * hop
            buf = buf[:left] if (buf.size >= left or not exhausted) else np.pad(buf, (0, left - buf.size))
        ready = buf.size // hop
        if ready == 0:
            if exhausted:
                return
            continue
        while j < len(pending) and pending[j][0] <= f:
            apply_event(performer, controls, pending[j][1])
            j += 1
        k = min(ready, chunk_frames)
        if j < len(pending):
            k = min(k, max(pending[j][0] - f, 1))
        frames = [fr for fr in performer.process(buf[: k * hop], controls, draw=draw) if fr.image is not None]
        buf = buf[k * hop :]
        f += k
        if frames:
            images = [fr.image for fr in frames]
            yield np.array([fr.index - start for fr in frames]), (np.stack(images) if stack else images)


def apply_event(performer, controls, event: dict) -> None:
    """One logged live event between frames: a render size change, or a `ControlState.apply` event."""
    if event.get("op") == "render_size":
        performer.set_render_size((int(event["size"][0]), int(event["size"][1])))
    else:
        controls.apply(event)


def output_frame_picks(model_fps: float, out_fps: float, start: int, stop: int) -> np.ndarray:
    """Output frames k whose picture is a model frame in [start, stop), in order, as model-frame indices.

    Output frame k stands for (k + 1) / out_fps and shows the newest model frame whose instant
    (i + 1) / model_fps is not later: i = floor((k + 1) * model_fps / out_fps) - 1.
    """
    r = model_fps / out_fps
    # A slightly wide range of k, then the exact test: rounding can never drop or repeat a frame.
    k = np.arange(max(0, int(np.floor((start + 1) / r)) - 2), int(np.ceil((stop + 1) / r)) + 2)
    picks = np.floor((k + 1) * r + 1e-9).astype(np.int64) - 1
    return picks[(picks >= start) & (picks < stop)]


def render_to_mp4(
    hearing,
    audio,
    output: str | Path,
    size: tuple[int, int],
    fps: float | None = None,
    device: str | torch.device = "cpu",
    controls=None,
    events: Iterable[tuple[int, dict]] = (),
    progress: bool = True,
    threads: int | None = None,
    on_frames: Callable[[np.ndarray], None] | None = None,
    full_detail: bool = False,
    n_frames: int | None = None,
    render_size: tuple[int, int] | None = None,
) -> RenderStats:
    """Render `audio` through a fresh Performer on `hearing` into `output` (width, height = size) atomically.

    `audio` is an `AudioFile` (streamed: memory does not grow with the file's length) or a
    `DecodedAudio`. By default the looks draw at `render_size` ((h, w); None: the live default
    with the output's aspect) and the finished frames are fitted to `size` exactly as the live
    window fits them to the screen (cover crop, bilinear): the cheap path. `full_detail=True`
    draws the looks at `size` (post effects run at full size too): the frames of a live loop run
    with that render size. Only frames the output shows are drawn. `n_frames` fixes the number
    of model frames (a replay matches the recording's video: audio beyond it is dropped, missing
    audio is silence). `threads` caps the video encoder's threads (None: FFmpeg's choice).
    Scaling to `size` and encoding run on a thread of their own while the next frames are drawn
    (`_Encoder`); `on_frames` gets each written batch (N, height, width, 3) there, in order.
    """
    from tqdm import tqdm

    from synesthete.audio_file import model_audio
    from synesthete.mp4_writer import Mp4Writer
    from synesthete.performer import Performer

    output = Path(output)
    width, height = even_size(*size)  # h264 4:2:0, as the live recorder rounds
    if full_detail:
        render_size = (height, width)
        events = [e for e in events if e[1].get("op") != "render_size"]  # full detail stays at full size
    elif render_size is None:
        render_size = default_render_size(width, height)
    performer = Performer(hearing, device=device, render_size=render_size)
    if controls is None:
        controls = performer.new_controls()
    model_fps = float(performer.fps)
    out_fps = float(fps) if fps else model_fps
    orig_channels, orig_rate = mp4_audio_format(audio.channels, audio.sample_rate)
    to_mp4 = Resampler(audio.sample_rate, orig_rate, orig_channels)
    orig = _Fifo(orig_channels)
    # The original audio (for the mp4) and the model's (mono, model rate) come from one pass over the file.
    def tee():
        for chunk in audio.chunks():
            orig.push(to_mp4.process(chunk if chunk.shape[0] == orig_channels else chunk.mean(axis=0, keepdims=True)))
            yield chunk
        orig.push(to_mp4.flush())

    heard = model_audio(tee(), audio.sample_rate, performer.sample_rate)
    orig_limit = round(n_frames * orig_rate / model_fps) if n_frames is not None else None
    estimate = n_frames if n_frames is not None else int(np.ceil((audio.duration_s or 0.0) * model_fps)) or None

    tmp = partial_path(output)
    t0 = time.perf_counter()
    written = 0
    audio_sent = 0  # samples handed to the encoder (the writer's own count lives on its thread)
    writer = encoder = None
    try:
        writer = Mp4Writer(tmp, width, height, out_fps, sample_rate=orig_rate, audio_channels=orig_channels,
                           threads=threads)
        encoder = _Encoder(writer, width, height, on_frames)

        def audio_upto(upto: int) -> np.ndarray | None:
            nonlocal audio_sent
            if orig_limit is not None:
                upto = min(upto, orig_limit)
            if upto <= audio_sent:
                return None
            chunk = orig.take(upto - audio_sent)  # on this thread: the decoder pushes here too
            audio_sent += chunk.shape[1]
            return chunk

        index = 0
        with tqdm(total=estimate, unit="frame", desc=f"render {output.name}", disable=not progress,
                  leave=False, dynamic_ncols=True) as bar:
            def shown(i: int) -> bool:  # only the frames the output shows are drawn
                return output_frame_picks(model_fps, out_fps, i, i + 1).size > 0

            # The pictures go to the encoder as they are: stacking and picking copied every one twice
            # on this thread (~0.27 ms a 640x360 frame), the busier of the two.
            for idx, batch in stream_frames(performer, heard, controls, events, n_frames=n_frames,
                                            draw=shown, stack=False):  # (k,), k x (H, W, 3)
                picks = output_frame_picks(model_fps, out_fps, int(idx[0]), int(idx[-1]) + 1)
                if picks.size:
                    written += picks.size
                    # Audio up to the end of the last video frame written, so the streams interleave.
                    encoder.put([batch[i] for i in np.searchsorted(idx, picks)],
                                audio_upto(round(written * orig_rate / out_fps)))
                bar.update(int(idx[-1]) + 1 - index)
                index = int(idx[-1]) + 1
        encoder.put(None, audio_upto(audio_sent + orig.size))
        encoder.finish()
        seconds = writer.samples_written / orig_rate  # the file's audio (close pads it to the video's end)
        writer.close()
        os.replace(tmp, output)
    except BaseException as e:
        if encoder is not None:
            encoder.abandon()
        if writer is not None:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - the original error is the one to report
                pass
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):  # name the file the user asked for, not the hidden temporary one
            raise RenderError(f"{output}: {str(e).replace(str(tmp), str(output))}") from None
        raise
    return RenderStats(written, seconds, time.perf_counter() - t0, (width, height), out_fps, output)


def partial_path(output: Path, pid: int | None = None) -> Path:
    """The hidden name a render is written under until it is complete (then renamed to `output`)."""
    return output.with_name(f".{output.stem}.partial-{os.getpid() if pid is None else pid}{output.suffix or '.mp4'}")


def remove_stale_partials(output: Path) -> list[Path]:
    """Delete the partial files of renders into `output` whose process is gone (killed with SIGKILL,
    or the machine went down); a render still running keeps its own. Returns what was removed."""
    removed = []
    prefix = f".{output.stem}.partial-"
    for path in output.parent.glob(f"{prefix}*{output.suffix or '.mp4'}"):
        pid = path.name[len(prefix) : len(path.name) - len(output.suffix or ".mp4")]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass  # someone else's file we may not touch: leave it
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, another user's
    return True


def default_render_size(width: int, height: int) -> tuple[int, int]:
    """(h, w) the looks draw at for a `width` x `height` output: the live default's height (360),
    the output's aspect, never larger than the output; both even."""
    from synesthete.performer import DEFAULT_RENDER_SIZE

    h = min(height, DEFAULT_RENDER_SIZE[0])
    w = max(2, int(round(width * h / height / 2)) * 2)
    return h, min(w, width)


def cover_crop(height: int, width: int, dst_w: int, dst_h: int) -> tuple[slice, slice]:
    """The largest centred part of a (height, width) picture with the aspect of (dst_w, dst_h).

    The live window's "cover" fit: the picture fills the output, a square frame loses its top
    and bottom in a 16:9 output (same arithmetic as synesthete_live.window.cover_rect).
    """
    if width * dst_h > dst_w * height:  # source is wider: cut the sides
        w = max(1, round(height * dst_w / dst_h))
        return slice(0, height), slice((width - w) // 2, (width - w) // 2 + w)
    h = max(1, round(width * dst_h / dst_w))
    return slice((height - h) // 2, (height - h) // 2 + h), slice(0, width)


def fit_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N, h, w, 3) uint8 -> (N, height, width, 3) as the live window shows them.

    Cover-crop to the output aspect, then scale: bilinear when enlarging, pixel-area when
    shrinking (the window's choice). Unchanged when the frames already have that size.
    """
    import cv2

    if frames.shape[1:3] == (height, width):
        return frames
    rows, cols = cover_crop(frames.shape[1], frames.shape[2], width, height)
    interpolation = scale_interpolation(cols.stop - cols.start, width)
    out = np.empty((frames.shape[0], height, width, 3), np.uint8)
    for i, frame in enumerate(frames):
        cv2.resize(np.ascontiguousarray(frame[rows, cols]), (width, height), dst=out[i], interpolation=interpolation)
    return out


def fit_yuv420(frames: Sequence[np.ndarray], width: int, height: int, out: np.ndarray | None = None) -> np.ndarray:
    """(N, h, w, 3) uint8 (or N such pictures) -> (N, height*3/2, width) yuv420p: the picture `fit_frames` makes, converted
    at the drawn size and scaled plane by plane (a 640x360 drawing's chroma is already a 1280x720
    output's, so only luma is enlarged): what the encoder takes, at a fraction of the cost. Into
    `out` when given (N frames' room)."""
    from synesthete.yuv420 import rgb_to_yuv420

    rows, cols = cover_crop(frames[0].shape[0], frames[0].shape[1], width, height)
    return rgb_to_yuv420([frame[rows, cols] for frame in frames], width, height, out=out)
