"""`synesthete-live`: the command line of the live performer.

Parses the options into `LiveOptions`, answers the listing flags (--list-devices, --list-midi),
and runs `LiveLoop`. Every user error (an unknown device or MIDI port, a bad checkpoint or preset,
a malformed size) is one line on stderr and exit status 2, never a traceback. A show whose
recording failed on the way (a full disk) runs on and exits with status 3.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from synesthete.constants import BLOCK_SIZE, FPS, WINDOW_SIZE
from synesthete.frame_size import parse_size

MAX_RENDER_SCALE = 2  # --render-size up to 2x the window per side (supersampling); beyond, nothing shows
EXIT_RECORDING_FAILED = 3  # the show ran to its end but the recording stopped early (e.g. a full disk)

EXAMPLES = """\
examples:
  synesthete-live                              mic if this machine has an input, else the demo music
  synesthete-live --device demo --fullscreen   built-in procedural music, fullscreen
  synesthete-live --list-devices               what can be heard (then --device N or --device NAME)
  synesthete-live --device loopback            what this computer plays (PulseAudio/PipeWire monitor)
  synesthete-live --device file:set.wav --preset dark_techno
  synesthete-live --midi "Launch Control" --record show.mp4
  synesthete-live --midi-virtual synesthete    a virtual MIDI port other software can play into
  synesthete-live --device demo --headless --duration 10 --record x.mp4   (tests, benchmarks)
  synesthete-live --osc-out 127.0.0.1:7000     send the music state (and beats, hits, chords) over OSC
  synesthete-live --osc-in 9000                every control as an OSC address (/synesthete/control/hue 0.5)
  synesthete-live --ndi Synesthete --ndi-size 1920x1080   the picture as an NDI source (needs the ndi extra)

presets: presets/*.toml (next/previous with N/P or a mapped pad); --preset NAME or PATH.
MIDI learn: press L, press a control's key, move a knob; press L again to save into the preset.
OSC addresses, arguments and units, with TouchDesigner and Resolume recipes: docs/osc.md.
docs/live.md has the full guide (set-up on macOS/Linux, latency tuning, loopback).

keys:
"""


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    return parse


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a UDP port 1..65535, got {text!r}")
    return port


def _blend_seconds(text: str) -> float:
    from synesthete.preset import MAX_BLEND_SECONDS

    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= MAX_BLEND_SECONDS:  # the presets' own rule
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and {MAX_BLEND_SECONDS:g}, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from synesthete_live.keys import help_table

    p = argparse.ArgumentParser(
        prog="synesthete-live",
        description="Live visuals from sound: a neural network draws each frame from the music it hears.",
        epilog=EXAMPLES + help_table(), formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_argument_group("input")
    src.add_argument("--device", "--source", dest="device", metavar="SPEC", default=None,
                     help="audio input: mic | N (index) | NAME (substring) | loopback | demo | file:PATH "
                          "(default: mic if an input exists, else demo)")
    src.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    src.add_argument("--midi", metavar="PORT", help="MIDI input port (index or name substring)")
    src.add_argument("--midi-virtual", metavar="NAME", help="open a virtual MIDI input port named NAME")
    src.add_argument("--list-midi", action="store_true", help="list MIDI input ports and exit")
    src.add_argument("--block-size", type=_positive(int), default=BLOCK_SIZE,
                     help=f"audio block in samples at the device rate (default {BLOCK_SIZE}; smaller = lower latency)")
    look = p.add_argument_group("look")
    look.add_argument("--checkpoint", metavar="PATH", help="model checkpoint (default: the shipped one)")
    look.add_argument("--preset", metavar="NAME|PATH", help="starting preset (default: presets/default.toml)")
    look.add_argument("--presets-dir", type=Path, default=Path("presets"), metavar="DIR",
                      help="folder of presets for next/previous (default: presets)")
    look.add_argument("--transition", choices=("blend", "beat"),
                      help="override the presets' transition: soft blend, or hard cut on the next strong beat")
    look.add_argument("--blend-seconds", type=_blend_seconds, metavar="S", help="override the presets' blend time")
    look.add_argument("--auto-advance", type=_positive(float), metavar="S",
                      help="playlist mode: next preset every S seconds")
    look.add_argument("--render-size", type=parse_size, metavar="WxH",
                      help="size the looks draw at (default: the full window on a GPU; on a CPU the largest "
                      "size that holds the frame rate, measured at start-up; the window scales)")
    look.add_argument("--hearing", choices=("auto", "model", "score"), default="auto",
                      help="what hears the music: the hearing model, or 'score': the demo's exact music state "
                      "(--device demo only); auto: the model, else the score on the demo")
    out = p.add_argument_group("output")
    out.add_argument("--record", type=Path, metavar="OUT.mp4", help="record the show (video + audio) to an mp4, "
                     "with a session log beside it (OUT.session.jsonl); an existing recording is never "
                     "overwritten: OUT-2.mp4, OUT-3.mp4... are used instead")
    out.add_argument("--record-size", type=parse_size, metavar="WxH",
                     help="recording size (default: the render size, the looks' own pixels; "
                     "synesthete-render --replay SET.session.jsonl --size 1280x720 makes a full-size file after the set)")
    out.add_argument("--fps", type=_positive(int), default=FPS, help=f"display frame rate target (default {FPS})")
    out.add_argument("--size", type=parse_size, default=WINDOW_SIZE, metavar="WxH",
                     help=f"window size (default {WINDOW_SIZE[0]}x{WINDOW_SIZE[1]})")
    out.add_argument("--fullscreen", action="store_true", help="start fullscreen (F toggles)")
    out.add_argument("--no-vsync", action="store_true",
                     help="do not wait for the display refresh (lowest latency, may tear)")
    out.add_argument("--no-hud", action="store_true", help="start with the HUD hidden (H toggles)")
    out.add_argument("--mute", action="store_true", help="do not play demo/file audio or the MIDI synth out loud")
    link = p.add_argument_group("VJ rig (OSC, NDI; docs/osc.md)")
    link.add_argument("--osc-out", action="append", default=[], metavar="HOST:PORT",
                      help="send the music state every frame and its events (beats, hits, chords, tempo) over "
                           "OSC/UDP to HOST:PORT; repeat for more targets. Example: --osc-out 127.0.0.1:7000")
    link.add_argument("--osc-in", type=_port, metavar="PORT",
                      help="listen for OSC control on UDP PORT: every control, preset and HUD action has an "
                           "address. Example: --osc-in 9000, then send /synesthete/control/hue 0.5")
    link.add_argument("--osc-in-host", default="127.0.0.1", metavar="ADDR",
                      help="address --osc-in listens on (default 127.0.0.1, this machine only; "
                           "0.0.0.0 for the network). Example: --osc-in-host 0.0.0.0")
    link.add_argument("--ndi", metavar="NAME",
                      help="publish the picture and sound as an NDI source NAME (optional extra: "
                           "uv sync --all-packages --extra ndi). Example: --ndi Synesthete")
    link.add_argument("--ndi-size", type=parse_size, metavar="WxH",
                      help="NDI picture size (default: the window size). Example: --ndi-size 1920x1080")
    run = p.add_argument_group("run")
    run.add_argument("--headless", action="store_true", help="no visible window (SDL dummy video driver); "
                     "for tests and benchmarks, usually with --duration")
    run.add_argument("--duration", type=_positive(float), metavar="S", help="stop after S seconds")
    run.add_argument("--torch-device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                     help="where the model runs (default auto: cuda, then mps, then cpu)")
    run.add_argument("--torch-threads", type=_positive(int), default=1,
                     help="torch CPU threads (default 1: per-frame steps are too small to split)")
    return p


def _list_midi() -> str:
    from synesthete_live.midi_input import list_midi_ports

    ports = list_midi_ports()
    if not ports:
        return "no MIDI input ports (connect a controller, or use --midi-virtual NAME)"
    return "\n".join(f"{i:>3}  {name}" for i, name in enumerate(ports))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_devices:
        from synesthete_live.devices import list_devices

        print(list_devices())
        return 0
    if args.list_midi:
        print(_list_midi())
        return 0
    if args.midi is not None and args.midi_virtual is not None:
        print("synesthete-live: error: give --midi PORT (an existing port) or --midi-virtual NAME, not both",
              file=sys.stderr)
        return 2
    if args.headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    if args.ndi_size is not None and args.ndi is None:
        print("synesthete-live: error: --ndi-size needs --ndi NAME", file=sys.stderr)
        return 2
    from synesthete_live.osc_out import OscOutError, parse_target

    try:
        osc_targets = [parse_target(t) for t in args.osc_out]
    except OscOutError as e:
        print(f"synesthete-live: error: {e}", file=sys.stderr)
        return 2

    from synesthete.checkpoint import CheckpointError
    from synesthete.mp4_writer import RecordingError
    from synesthete_live.devices import AudioDeviceError
    from synesthete_live.live_loop import LiveLoop, LiveOptions
    from synesthete_live.midi_input import MidiError
    from synesthete.preset import PresetError
    from synesthete_live.ndi_out import NdiError
    from synesthete_live.osc_in import OscError

    if args.record is not None and args.record.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        print(f"synesthete-live: error: --record {args.record}: the recording is an mp4; name it *.mp4",
              file=sys.stderr)
        return 2
    if args.render_size is not None and (args.render_size[0] > MAX_RENDER_SCALE * args.size[0]
                                         or args.render_size[1] > MAX_RENDER_SCALE * args.size[1]):
        w, h = args.render_size
        print(f"synesthete-live: error: --render-size {w}x{h} is more than {MAX_RENDER_SCALE}x the window "
              f"({args.size[0]}x{args.size[1]}) per side: it would cost {w * h / (args.size[0] * args.size[1]):.0f}x "
              f"the window's pixels per frame and show nothing more; use at most "
              f"{MAX_RENDER_SCALE * args.size[0]}x{MAX_RENDER_SCALE * args.size[1]} (or leave it out: the loop picks "
              f"the largest size this machine draws in time)", file=sys.stderr)
        return 2
    opts = LiveOptions(
        device=args.device, midi=args.midi, midi_virtual=args.midi_virtual, checkpoint=args.checkpoint,
        preset=args.preset, presets_dir=args.presets_dir, record=args.record, record_size=args.record_size,
        fps=args.fps, size=args.size, fullscreen=args.fullscreen, vsync=not args.no_vsync, hud=not args.no_hud,
        headless=args.headless,
        duration=args.duration, torch_device=args.torch_device, transition=args.transition,
        blend_seconds=args.blend_seconds, auto_advance=args.auto_advance, block_size=args.block_size,
        play_out=not (args.mute or args.headless), torch_threads=args.torch_threads,
        render_size=(args.render_size[1], args.render_size[0]) if args.render_size else None,
        hearing=args.hearing,
        osc_out=osc_targets, osc_in=args.osc_in, osc_in_host=args.osc_in_host, ndi=args.ndi, ndi_size=args.ndi_size)
    try:
        summary = LiveLoop(opts).run()
    except KeyboardInterrupt:  # Ctrl-C before the show started (while loading): no traceback
        print("synesthete-live: interrupted", file=sys.stderr)
        return 130
    except (AudioDeviceError, MidiError, CheckpointError, PresetError, RecordingError, OscError, NdiError,
            FileNotFoundError, ValueError) as e:
        print(f"synesthete-live: error: {e}", file=sys.stderr)
        return 2
    if summary.get("record_error"):  # the show ran, but the recording is incomplete: scripts must know
        print(f"synesthete-live: the recording failed: {summary['record_error']}", file=sys.stderr)
        return EXIT_RECORDING_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
