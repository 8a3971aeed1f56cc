"""`synesthete-render`: turn an audio file (or a recorded live set) into an mp4 of the visuals.

    synesthete-render song.flac -o song.mp4 --size 1280x720
    synesthete-render --replay set.session.jsonl -o set-4k.mp4 --size 3840x2160

The input is decoded with TorchCodec (wav, flac, mp3, ogg, or the audio track of a video) a few
seconds at a time, downmixed and resampled (libsoxr) to the model's rate, and fed through the very `Performer` the live window
uses (causal features, the hearing model's `step`, the music state, the looks, controls, post
effects), in chunks. So every frame equals what the live app would have shown for the same audio
and control events. The mp4 carries the *original* audio (its own rate and channels) next to the
video, both written by `Mp4Writer` as they are made: memory does not grow with the file's length,
and the file's timing is what players read (frame t at (t + 1) / fps, the sound at its source
time). Only the frames the output shows are drawn (at 30 fps every
other frame; the hearing still steps each one).

By default the looks draw at the live default render size (640x360 for a 16:9 output) and each
frame is fitted to `--size` the way the live window fits it to the screen (cover crop, bilinear):
fast, and what a small CPU shows live. `--detail full` draws the looks at `--size` (crisper, slower).

`--replay SESSION.jsonl` re-renders a live set: the audio comes from the recording the session
log sits next to (`set.session.jsonl` -> `set.mp4`), the set starts from the controls its header
logged (the start preset, look blend included), the logged control and render-size events are
re-applied before the model frames the live loop applied them at, and the set is rendered at any
`--size` (default: the recording's), in full detail unless `--detail native`. At the live render
size the replay is the recording to within a frame's shift (the recorder repeats a frame where
the live loop fell behind; the aac round trip of the sound changes what the hearing hears a
little); larger sizes add detail. A replay uses one checkpoint (the header's, found by path, name
or checksum, or `--checkpoint`): a set that switched models through presets is replayed with its
first.

Failure leaves nothing behind: the mp4 is written to a hidden temporary name next to OUTPUT and
renamed only when complete; on any error, Ctrl-C, SIGTERM or SIGHUP it is deleted and the command
exits non-zero with one line naming the problem (a render killed with SIGKILL leaves it; the next
render into that folder removes it). An OUTPUT that is a folder or sits in a folder we cannot
write fails before anything is rendered. The work is done by library modules (`synesthete.audio_file`,
`synesthete.render`, `synesthete.replay`); this module only parses arguments and reports.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

import torch

from synesthete.audio_file import AudioFile
from synesthete.constants import WINDOW_SIZE
from synesthete.frame_size import parse_size
from synesthete.preset import default_preset, find_preset, load_preset, preset_controls
from synesthete.render import RENDER_THREADS, RenderError, RenderStats, remove_stale_partials, render_to_mp4

PRESETS_DIR = Path("presets")  # where a bare --preset NAME is looked up, as synesthete-live does


class Stopped(BaseException):
    """SIGTERM/SIGHUP arrived: unwind like Ctrl-C, so the partial file is deleted on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def stop_on_signals():
    """`kill` (SIGTERM) or a closed terminal (SIGHUP) stops a render cleanly instead of leaving its
    hidden partial file behind (SIGKILL cannot be caught: the next render into the folder removes
    what such a render left, `remove_stale_partials`)."""
    def stop(signum, frame):
        raise Stopped(signum)

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread (e.g. main() in a test's thread)
        return
    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def check_output(output: Path) -> None:
    """Everything about OUTPUT that can be known before rendering: one line naming OUTPUT if wrong."""
    if output.is_dir():
        raise RenderError(f"{output}: is a folder; give the mp4 file to write, e.g. {output / 'out.mp4'}")
    if output.suffix.lower() != ".mp4":
        raise RenderError(f"{output}: output must be an .mp4 file")
    folder = output.parent.resolve()
    if not folder.is_dir():
        raise RenderError(f"{output}: folder {output.parent} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RenderError(f"{output}: cannot write into folder {output.parent} (permission denied)")
    if output.exists() and not os.access(output, os.W_OK):
        raise RenderError(f"{output}: exists and is read-only; it would not be replaced")
    remove_stale_partials(output)


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
    p.add_argument("--threads", type=int, default=RENDER_THREADS,
                   help="torch CPU threads (default 1: per-frame work is small, and the video encoder uses the other cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with stop_on_signals():
            stats = run(args)
    except KeyboardInterrupt:
        print("synesthete-render: interrupted; no output written", file=sys.stderr)
        return 130
    except Stopped as e:
        print(f"synesthete-render: stopped by {e}; no output written", file=sys.stderr)
        return 128 + e.signum
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
    check_output(args.output)
    if args.replay is not None and args.preset is not None:
        raise RenderError("--preset and --replay do not mix: a replay starts from the controls the live set had")
    # The preset is read (and checked, by the schema synesthete-live uses) before anything slow.
    preset = load_preset(find_preset(args.preset, PRESETS_DIR)) if args.preset is not None else default_preset()
    device = pick_device(args.device)
    if args.replay is not None:
        from synesthete.replay import prepare_replay

        job = prepare_replay(args.replay, args.input, args.checkpoint)
        hearing, _ = load_hearing(job.checkpoint, device)
        controls = job.controls(usable_looks(hearing.cfg))
        return render_to_mp4(hearing, job.audio, args.output, args.size or job.size or WINDOW_SIZE, args.fps, device,
                             controls, job.events, progress=not args.quiet,
                             full_detail=args.detail != "native", n_frames=job.n_frames, render_size=job.render_size)
    if args.input is None:
        raise RenderError("give an INPUT audio file (or --replay SESSION)")
    audio = AudioFile(args.input)  # open first: a bad input fails before the model loads
    hearing, _ = load_hearing(args.checkpoint, device)
    controls = preset_controls(preset, usable_looks(hearing.cfg))  # the live app's start on this preset
    return render_to_mp4(hearing, audio, args.output, args.size or WINDOW_SIZE, args.fps, device, controls,
                         progress=not args.quiet, full_detail=args.detail == "full")


if __name__ == "__main__":
    sys.exit(main())
