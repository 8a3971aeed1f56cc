"""`synesthete-pipeline`: the whole story in one command.

1. train a small hearing model on the infinite procedural data (a few minutes on a laptop CPU),
2. compose a procedural test track (a held-out seed) and write it as a wav,
3. render that track through the trained hearing model and the looks to `output_test.mp4` (the
   same streaming path as the live window), with the track's audio in sync.

Each stage shows a progress bar. Use `--preset` for a longer training run.
"""

from __future__ import annotations

import argparse
import sys
import wave
from pathlib import Path

import numpy as np

# The hearing recipe, cut short by --minutes and on procedural songs only: synesthete-render draws
# with a hearing model (a pixel model, train_quick/train_neural, only plays as the neural look).
DEFAULT_PRESET = Path(__file__).resolve().parents[2] / "presets" / "train_default.toml"


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """16-bit PCM wav (mono (S,) or stereo (2, S)); stdlib only, readable by every decoder."""
    data = np.atleast_2d(audio).T  # (S, ch)
    pcm = (np.clip(data, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(pcm.shape[1])
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.tobytes())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="synesthete-pipeline",
        description="Train a small model, compose a procedural test track, and render it to output_test.mp4.",
        epilog="examples:\n  synesthete-pipeline                          # ~5 minutes on a laptop CPU\n"
               "  synesthete-pipeline --minutes 20 --size 1280x720\n"
               "  synesthete-pipeline --checkpoint default        # skip training, use the shipped model",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", type=Path, default=Path("output_test.mp4"), help="the video to write")
    p.add_argument("--work", type=Path, default=Path("runs/pipeline"), help="folder for the checkpoint and track")
    p.add_argument("--preset", type=Path, default=DEFAULT_PRESET,
                   help="hearing training preset, trained on procedural songs only (default: presets/train_default.toml)")
    p.add_argument("--minutes", type=float, default=4.0, help="training time budget in minutes (default: 4)")
    p.add_argument("--checkpoint", help="skip training and render with this checkpoint ('default' = the shipped one)")
    p.add_argument("--seconds", type=float, default=20.0, help="length of the test track (default: 20)")
    p.add_argument("--seed", type=int, default=2024, help="seed of the test track (default: 2024)")
    p.add_argument("--size", default="640x360", help="video size WxH (default: 640x360)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from synesthete.audio.engine import render_clip
    from synesthete.render_cli import main as render_main

    args.work.mkdir(parents=True, exist_ok=True)
    if args.checkpoint is None:
        from synesthete.config import ConfigError
        from synesthete_train.config import preset_task
        from synesthete_train.hearing import HearingTrainer, load_hearing_config

        print(f"[1/3] training ({args.minutes:g} min budget, preset {args.preset})", file=sys.stderr)
        try:
            if preset_task(args.preset) != "hearing":
                raise ConfigError(f"{args.preset} trains a pixel model; the render needs a hearing model: "
                                  "give a hearing preset (e.g. presets/train_default.toml)")
            # Procedural songs only: a few minutes' budget leaves no time to build a MIDI pool first.
            cfg = load_hearing_config(args.preset, [f"max_minutes={args.minutes}", f'out="{args.work / "train"}"',
                                                    f'device="{args.device}"', "data.midi_share=0"])
            trainer = HearingTrainer(cfg, progress=True)
        except (ConfigError, ValueError) as e:
            print(f"synesthete-pipeline: error: {e}", file=sys.stderr)
            return 2
        result = trainer.fit()
        checkpoint = result["checkpoint"]
        print(f"      trained {result['step']} steps", file=sys.stderr)
    else:
        checkpoint = None if args.checkpoint == "default" else args.checkpoint
        print("[1/3] training skipped", file=sys.stderr)

    from synesthete.checkpoint import CheckpointError
    from synesthete.performer import load_hearing

    try:
        sample_rate = load_hearing(checkpoint)[0].cfg.sample_rate
    except CheckpointError as e:
        print(f"synesthete-pipeline: error: {e}", file=sys.stderr)
        return 2
    print(f"[2/3] composing a {args.seconds:g} s procedural test track (seed {args.seed})", file=sys.stderr)
    track = args.work / "test_track.wav"
    write_wav(track, render_clip(args.seed, args.seconds, sample_rate=sample_rate, stereo=True).audio, sample_rate)

    print(f"[3/3] rendering {args.output}", file=sys.stderr)
    render_args = [str(track), "-o", str(args.output), "--size", args.size, "--device", args.device]
    if checkpoint is not None:
        render_args += ["--checkpoint", str(checkpoint)]
    code = render_main(render_args)
    if code == 0:
        print(f"wrote {args.output}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
