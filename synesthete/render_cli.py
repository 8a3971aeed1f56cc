"""`synesthete-render`: turn an audio file (or a recorded live set) into an mp4 of the visuals.

    synesthete-render song.flac -o song.mp4 --size 1280x720
    synesthete-render --replay set.session.jsonl -o set-4k.mp4 --size 3840x2160

The input is decoded with TorchCodec (wav, flac, mp3, ogg, or the audio track of a video),
downmixed and resampled to the model's rate, and fed through the very `Performer` the live window
uses (causal features, the hearing model's `step`, the music state, the looks, controls, post
effects), in chunks. So every frame equals what the live app would have shown for the same audio
and control events. The mp4 carries the *original* audio (its own rate and channels) next to the
video, both written by `Mp4Writer`. Only the frames the output shows are drawn (at 30 fps every
other frame: the hearing still steps each one).

By default the looks draw at the live default render size (640x360 for a 16:9 output) and each
frame is fitted to `--size` the way the live window fits it to the screen (cover crop, bilinear):
fast, and what a small CPU shows live. `--detail full` draws the looks at `--size` itself (crisper,
slower).

`--replay SESSION.jsonl` re-renders a live set: the audio comes from the recording the session
log sits next to (`set.session.jsonl` -> `set.mp4`), the logged control events are re-applied at
the model-frame indices the live loop logged them at, and the set is rendered at any `--size`
(default: the recording's), in full detail unless `--detail native`. At the live render size the
frames equal the live ones up to float rounding and the recording's aac round trip of the audio;
larger sizes add detail. A replay uses one checkpoint (the header's, or `--checkpoint`): a set
that switched models through presets is replayed with its first.

Failure leaves nothing behind: the mp4 is written to a hidden temporary name next to OUTPUT and
renamed only when complete; on any error it is deleted and the command exits non-zero with one
line naming the problem.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from synesthete.constants import WINDOW_SIZE

# Model frames per `Performer.process` call: big enough to amortise the Python overhead, small
# enough that the progress bar moves and the mp4 streams are interleaved finely.
CHUNK_FRAMES = 30


class RenderError(ValueError):
    """The input cannot be rendered; the message names the file and the reason."""


@dataclass
class DecodedAudio:
    samples: np.ndarray  # (C, N) float32, the file's own channels and rate
    sample_rate: int
    path: Path

    @property
    def seconds(self) -> float:
        return self.samples.shape[1] / self.sample_rate


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


def decode_audio(path: str | Path) -> DecodedAudio:
    """Decode every audio sample of `path` (any format FFmpeg reads) as float32 (C, N)."""
    from torchcodec.decoders import AudioDecoder

    path = Path(path)
    if not path.exists():
        raise RenderError(f"{path}: no such file")
    if not path.is_file():
        raise RenderError(f"{path}: not a file (give an audio file: wav, flac, mp3, ogg, or a video with sound)")
    if path.stat().st_size == 0:
        raise RenderError(f"{path}: the file is empty")
    try:
        decoder = AudioDecoder(str(path))
        decoded = decoder.get_all_samples()
    except ValueError as e:
        if "audio stream" in str(e):
            raise RenderError(f"{path}: has no audio stream (a video without sound?); give a file with audio") from None
        raise RenderError(f"{path}: cannot decode audio ({str(e).splitlines()[0]})") from None
    except RuntimeError as e:
        reason = str(e).strip().splitlines()[0].split(", ")[-1] if str(e).strip() else "unknown error"
        raise RenderError(f"{path}: not a readable audio or video file ({reason}); "
                          "give wav, flac, mp3, ogg or a video with sound") from None
    samples = decoded.data.numpy().astype(np.float32, copy=False)  # (C, N)
    if samples.ndim != 2 or samples.shape[1] == 0:
        raise RenderError(f"{path}: the audio stream holds no samples")
    return DecodedAudio(samples, int(decoded.sample_rate), path)


def to_model_audio(audio: DecodedAudio, model_rate: int) -> np.ndarray:
    """Downmix to mono (channel mean) and resample to `model_rate`. Returns float32 (S,)."""
    import torchaudio

    mono = torch.from_numpy(audio.samples.mean(axis=0))  # (N,)
    if audio.sample_rate != model_rate:
        mono = torchaudio.functional.resample(mono, audio.sample_rate, model_rate)
    return mono.numpy().astype(np.float32, copy=False)


def mp4_audio(audio: DecodedAudio) -> tuple[np.ndarray, int]:
    """The original audio in a form aac takes: (C <= 2, N) at a rate aac accepts (else 48 kHz)."""
    import torchaudio

    from synesthete.mp4_writer import AAC_SAMPLE_RATES

    samples, rate = audio.samples, audio.sample_rate
    if samples.shape[0] > 2:  # surround: aac here is mono/stereo; a plain mean keeps every channel audible
        samples = samples.mean(axis=0, keepdims=True)
    if rate not in AAC_SAMPLE_RATES:
        samples = torchaudio.functional.resample(torch.from_numpy(np.ascontiguousarray(samples)), rate, 48_000).numpy()
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
    (post effects run at full size too): the frames of a live loop run with that render size.
    `n_frames` fixes the number of model
    frames (a replay matches the recording's video: audio beyond it is dropped, missing audio is
    silence). `threads` caps the video encoder's threads (None: FFmpeg's choice).
    """
    from tqdm import tqdm

    from synesthete.mp4_writer import Mp4Writer
    from synesthete.performer import Performer

    output = Path(output)
    width, height = size
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
            draw = lambda i: bool(wanted[i]) if i < n_model else False  # noqa: E731
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


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720); both even (h264 4:2:0) and >= 2."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 1280x720; got {text!r}") from None
    if w < 2 or h < 2 or w % 2 or h % 2:
        raise argparse.ArgumentTypeError(f"size {text!r}: width and height must be even numbers >= 2 (h264 4:2:0)")
    return w, h


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="synesthete-render",
        description="Render visuals for an audio file (or re-render a recorded live set) into an mp4 "
        "with the original audio, through the same streaming path as the live window.",
        epilog="Examples:\n  synesthete-render song.wav -o song.mp4\n"
        "  synesthete-render talk.mp4 -o out.mp4 --size 640x360 --preset calm\n"
        "  synesthete-render --replay rec/set.session.jsonl -o set-1080p.mp4 --size 1920x1080",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", nargs="?", type=Path, help="audio file (wav, flac, mp3, ogg) or a video with sound")
    p.add_argument("-o", "--output", type=Path, required=True, help="mp4 to write (replaced only on success)")
    p.add_argument("--checkpoint", default=None, help="model checkpoint (default: the shipped one)")
    p.add_argument("--preset", default=None, help="preset name or file: initial controls (style, hue, ...)")
    p.add_argument("--size", type=parse_size, default=None,
                   help=f"output WIDTHxHEIGHT (default {WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}; with --replay the live size)")
    p.add_argument("--fps", type=float, default=None, help="output frame rate (default: the model's, e.g. 60)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    p.add_argument("--replay", type=Path, default=None, metavar="SESSION",
                   help="session log (.jsonl) of a live recording: re-render it from its mp4 and control events")
    p.add_argument("--detail", choices=("native", "full"), default=None,
                   help="native: the model draws at its own size (a replay: at the live render size) and frames "
                   "are fitted to --size like the live window does (fast; default for a file); "
                   "full: the model renders at --size (default for --replay)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: per-frame work is small, and the video encoder uses the other cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        stats = run(args)
    except KeyboardInterrupt:
        print("synesthete-render: interrupted; no output written", file=sys.stderr)
        return 130
    except (RenderError, ValueError, OSError) as e:
        print(f"synesthete-render: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {stats.output}: {stats.frames} frames {stats.size[0]}x{stats.size[1]} @ {stats.fps:g} fps, "
          f"{stats.audio_seconds:.1f} s of audio in {stats.wall_seconds:.1f} s "
          f"({stats.realtime_factor:.2f}x real time)")
    return 0


def run(args: argparse.Namespace) -> RenderStats:
    from synesthete.performer import load_hearing, usable_looks
    from synesthete.device import pick_device

    if args.threads:
        import cv2

        # Per-frame work is small: extra threads only contend (on a busy 2-core box, 2 threads
        # made the 720p upscale 15x slower than 1).
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    if args.fps is not None and not (0 < args.fps <= 240):
        raise RenderError(f"--fps must be in (0, 240], got {args.fps:g}")
    if args.output.suffix.lower() != ".mp4":
        raise RenderError(f"{args.output}: output must be an .mp4 file")
    if not args.output.parent.resolve().is_dir():
        raise RenderError(f"{args.output}: folder {args.output.parent} does not exist")
    device = pick_device(args.device)
    if args.replay is not None:
        from synesthete.replay import prepare_replay

        job = prepare_replay(args.replay, args.input, args.checkpoint)
        hearing, _ = load_hearing(job.checkpoint, device)
        controls = job.controls(usable_looks(hearing.cfg))
        if args.preset is not None:
            raise RenderError("--preset and --replay do not mix: a replay starts from the controls the live set had")
        return render_to_mp4(hearing, job.audio, args.output, args.size or job.size or WINDOW_SIZE, args.fps, device,
                             controls, job.events, progress=not args.quiet,
                             full_detail=args.detail != "native", n_frames=job.n_frames, render_size=job.render_size)
    if args.input is None:
        raise RenderError("give an INPUT audio file (or --replay SESSION)")
    audio = decode_audio(args.input)  # decode first: a bad input fails before the model loads
    hearing, _ = load_hearing(args.checkpoint, device)
    controls = initial_controls(usable_looks(hearing.cfg), args.preset)
    return render_to_mp4(hearing, audio, args.output, args.size or WINDOW_SIZE, args.fps, device, controls,
                         progress=not args.quiet, full_detail=args.detail == "full")


def find_preset(name: str) -> Path:
    """A preset file: a path as given, else presets/<name>.toml|.yaml|.yml in the working directory."""
    path = Path(name)
    if path.is_file():
        return path
    for suffix in (".toml", ".yaml", ".yml"):
        candidate = Path("presets") / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    raise RenderError(f"preset {name!r}: no such file, and no presets/{name}.toml/.yaml/.yml here")


def initial_controls(styles: tuple[str, ...], preset: str | None):
    """A ControlState for the looks `styles`, set from a preset's [styles] and [controls] tables.

    Only the picture-related part of a live preset matters offline; its checkpoint, transition
    and [midi] tables are ignored here (pass --checkpoint to choose the model).
    """
    from synesthete.config import read_mapping
    from synesthete.controls import ControlState

    styles = tuple(styles)
    controls = ControlState(len(styles))
    if preset is None:
        return controls
    path = find_preset(preset)
    data = read_mapping(path)
    values = data.get("controls", {}) or {}
    if not isinstance(values, dict):
        raise RenderError(f"{path}: [controls] must be a table of control = value")
    try:
        for name, value in values.items():
            controls.set(name, float(value))
    except (TypeError, ValueError) as e:
        raise RenderError(f"{path}: [controls]: {e}") from None
    blend = data.get("styles")
    if blend:
        unknown = sorted(set(blend) - set(styles))
        if unknown:
            raise RenderError(f"{path}: [styles] names {unknown}, which are not looks; the looks: {', '.join(styles)}")
        controls.pin_style_weights([float(blend.get(s, 0.0)) for s in styles])
    controls.settle()
    return controls


if __name__ == "__main__":
    sys.exit(main())
