"""Rendering audio to an mp4 of the visuals: the library behind `synesthete-render`.

`render_to_mp4` drives a fresh `Performer` (the live window's path: causal features, model step,
controls, post effects) over decoded audio in chunks, fits each frame to the output size the way
the live window fits it to the screen, and writes video and the *original* audio through
`Mp4Writer`, atomically: to a hidden temporary name next to the output, renamed only when
complete, deleted on any error. The CLI (`synesthete.render_cli`) and the render benchmark call it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from synesthete.audio_file import DecodedAudio, to_model_audio
from synesthete.frame_size import even_size
from synesthete.resampler import resample

# Model frames per `Performer.process` call: big enough to amortise the Python overhead, small
# enough that the progress bar moves and the mp4 streams are interleaved finely.
CHUNK_FRAMES = 30


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


def mp4_audio(audio: DecodedAudio) -> tuple[np.ndarray, int]:
    """The original audio in a form aac takes: (C <= 2, N) at a rate aac accepts (else 48 kHz)."""
    from synesthete.mp4_writer import AAC_SAMPLE_RATES

    samples, rate = audio.samples, audio.sample_rate
    if samples.shape[0] > 2:  # surround: aac here is mono/stereo; a plain mean keeps every channel audible
        samples = samples.mean(axis=0, keepdims=True)
    if rate not in AAC_SAMPLE_RATES:
        samples = resample(samples, rate, 48_000)
        rate = 48_000
    return np.ascontiguousarray(samples, dtype=np.float32), rate


def stream_frames(performer, audio: np.ndarray, controls, events: Iterable[tuple[int, dict]] = (),
                  chunk_frames: int = CHUNK_FRAMES, draw=True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Drive `performer` over `audio` (model rate, padded to whole hops); yield (indices (k,), images
    (k, H, W, 3) uint8) of the drawn frames, chunk by chunk (`draw` as `Performer.process` takes it).

    Each (frame_index, event) is applied to `controls` right before that model frame, exactly as
    the live loop applies a queued event between frames; chunks are cut at event frames so the
    chunking never moves an event.
    """
    hop = performer.hop
    n_frames = -(-audio.shape[0] // hop)
    audio = np.concatenate([audio, np.zeros(n_frames * hop - audio.shape[0], np.float32)])
    pending = sorted(events, key=lambda e: e[0])
    j = 0
    start = performer.frames_done
    f = start
    while f < start + n_frames:
        while j < len(pending) and pending[j][0] <= f:
            controls.apply(pending[j][1])
            j += 1
        stop = min(start + n_frames, f + chunk_frames)
        if j < len(pending):
            stop = min(stop, max(pending[j][0], f + 1))
        frames = [fr for fr in performer.process(audio[(f - start) * hop : (stop - start) * hop], controls, draw=draw)
                  if fr.image is not None]
        if frames:
            yield np.array([fr.index - start for fr in frames]), np.stack([fr.image for fr in frames])
        f = stop


def pick_output_frames(model_fps: float, out_fps: float, n_model_frames: int) -> np.ndarray:
    """Model frame shown by each output frame at `out_fps`: the newest whose instant is <= the output's.

    Output frame k stands for (k + 1) / out_fps; model frame i for (i + 1) / model_fps.
    """
    n_out = int(np.floor(n_model_frames * out_fps / model_fps + 1e-9))
    k = np.arange(n_out)
    return np.floor((k + 1) * model_fps / out_fps + 1e-9).astype(np.int64) - 1


def render_to_mp4(
    hearing,
    audio: DecodedAudio,
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

    By default the looks draw at `render_size` ((h, w); None: the live default with the output's
    aspect) and the finished frames are fitted to `size` exactly as the live window fits them to
    the screen (cover crop, bilinear): the cheap path. `full_detail=True` draws the looks at `size`
    (post effects run at full size too): the frames of a live loop run with that render size. `n_frames` fixes the number of model
    frames (a replay matches the recording's video: audio beyond it is dropped, missing audio is
    silence). `threads` caps the video encoder's threads (None: FFmpeg's choice).
    """
    from tqdm import tqdm

    from synesthete.mp4_writer import Mp4Writer
    from synesthete.performer import Performer

    output = Path(output)
    width, height = even_size(*size)  # h264 4:2:0, as the live recorder rounds
    if full_detail:
        render_size = (height, width)
    elif render_size is None:
        render_size = default_render_size(width, height)
    performer = Performer(hearing, device=device, render_size=render_size)
    if controls is None:
        controls = performer.new_controls()
    model_fps = float(performer.fps)
    out_fps = float(fps) if fps else model_fps
    model_audio = to_model_audio(audio, performer.sample_rate)
    orig, orig_rate = mp4_audio(audio)
    if n_frames is not None:
        want = n_frames * performer.hop
        model_audio = np.pad(model_audio[:want], (0, max(0, want - model_audio.shape[0])))
        orig = orig[:, : round(n_frames * orig_rate / model_fps)]
    n_model = -(-model_audio.shape[0] // performer.hop)
    picks = pick_output_frames(model_fps, out_fps, n_model)
    wanted = np.zeros(n_model, dtype=bool)
    wanted[picks] = True  # (a model frame shown twice at a higher out_fps is repeated below)
    repeats = np.bincount(picks, minlength=n_model)

    tmp = output.with_name(f".{output.stem}.partial-{os.getpid()}{output.suffix or '.mp4'}")
    t0 = time.perf_counter()
    written = 0
    writer = None
    try:
        writer = Mp4Writer(tmp, width, height, out_fps, sample_rate=orig_rate, audio_channels=orig.shape[0],
                           threads=threads)
        index = 0
        with tqdm(total=n_model, unit="frame", desc=f"render {output.name}", disable=not progress,
                  leave=False, dynamic_ncols=True) as bar:
            draw = lambda i: bool(wanted[i]) if i < n_model else False  # noqa: E731  (only shown frames)
            for idx, batch in stream_frames(performer, model_audio, controls, events, draw=draw):  # (k, H, W, 3)
                keep = np.repeat(batch, repeats[idx], axis=0)
                keep = fit_frames(keep, width, height)
                if keep.shape[0]:
                    writer.write_frames(keep)
                    if on_frames is not None:
                        on_frames(keep)
                    written += keep.shape[0]
                    # Audio up to the end of the last video frame written, so the streams interleave.
                    upto = min(orig.shape[1], round(written * orig_rate / out_fps))
                    if upto > writer.samples_written:
                        writer.write_audio(orig[:, writer.samples_written : upto])
                bar.update(int(idx[-1]) + 1 - index)
                index = int(idx[-1]) + 1
        if writer.samples_written < orig.shape[1]:
            writer.write_audio(orig[:, writer.samples_written :])
        writer.close()
        os.replace(tmp, output)
    except BaseException:
        if writer is not None:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - the original error is the one to report
                pass
        tmp.unlink(missing_ok=True)
        raise
    seconds = orig.shape[1] / orig_rate
    return RenderStats(written, seconds, time.perf_counter() - t0, (width, height), out_fps, output)


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
    crop_w = cols.stop - cols.start
    interpolation = cv2.INTER_LINEAR if width >= crop_w else cv2.INTER_AREA
    out = np.empty((frames.shape[0], height, width, 3), np.uint8)
    for i, frame in enumerate(frames):
        cv2.resize(np.ascontiguousarray(frame[rows, cols]), (width, height), dst=out[i], interpolation=interpolation)
    return out
