"""`synesthete-train`: train the hearing model (default) or the pixel model on the infinite procedural data engine."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EPILOG = """\
examples:
  synesthete-train --config presets/train_default.toml --out runs/mine   # the shipped hearing recipe (<= 30 min, 2-core CPU)
  synesthete-train --config presets/train_default.toml model.bridge.hidden=128 optim.lr=1e-3
  synesthete-train --resume runs/mine/last.pt --max-steps 4000     # continue exactly where it stopped
  synesthete-train --max-steps 20 --device cpu eval.n_seeds=0      # a quick smoke run (built-in defaults)
  synesthete-train --config presets/train_neural.toml --out runs/neural   # the pixel model of the neural look

What is trained: a preset's top-level `task` says which model. "hearing" (the default) learns the
music state (stems, beat, bar, tempo, chord, energy, pitches, confidences) from the score of each
procedural clip, one loss per field (docs/training.md); "pixel" learns the old audio-to-video
decoder against the teacher's frames (docs/model.md, the neural look).

Overrides are dotted keys of the config (see the preset for every key), parsed as TOML values:
numbers, true/false, "strings", [lists]; a bad value is one line naming its key. Experiment
tracking (wandb) is off unless tracking.mode=offline (a local run folder, no account needed) or
tracking.mode=online. The checkpoint (weights + model kind + config + training state) is what
synesthete-live, synesthete-render and synesthete-analyze load with --checkpoint runs/mine/last.pt.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="synesthete-train",
        description="Train Synesthete's hearing network (audio -> what the music is doing) on endless "
        "procedurally generated music whose score is the ground truth, or the optional pixel network. "
        "Nothing is written to disk but checkpoints and logs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. optim.lr=1e-3")
    p.add_argument("--config", type=Path, help="TOML or YAML training preset (default: built-in defaults)")
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    p.add_argument("--max-minutes", type=float, help="stop after this much wall-clock time (checkpoint is still written)")
    p.add_argument("--out", type=Path, help="run folder for checkpoints and logs (default: the preset's `out`)")
    p.add_argument("--resume", type=Path, metavar="CKPT", help="continue a run from its checkpoint")
    p.add_argument("--device", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--workers", type=int, help="data worker processes (default from config: 1)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from synesthete.checkpoint import CheckpointError
    from synesthete.config import ConfigError, to_dict
    from synesthete_train.config import load_train_config, preset_task

    overrides = list(args.overrides)
    for flag, key in ((args.max_steps, "max_steps"), (args.max_minutes, "max_minutes"), (args.out, "out"),
                      (args.device, "device"), (args.workers, "data.num_workers")):
        if flag is not None:
            value = json.dumps(str(flag)) if isinstance(flag, (str, Path)) else flag
            overrides.append(f"{key}={value}")
    try:
        if args.resume is not None and args.config is None:
            from synesthete.checkpoint import load_checkpoint

            overrides.insert(0, f"task={json.dumps(load_checkpoint(args.resume)['kind'])}")
        if preset_task(args.config, overrides) == "hearing":
            from synesthete_train.hearing import HearingTrainer as Trainer, load_hearing_config as load
        else:
            from synesthete_train.trainer import Trainer  # type: ignore[assignment]
            load = load_train_config  # type: ignore[assignment]
        cfg = load(args.config, overrides)
        if args.print_config:
            print(json.dumps(to_dict(cfg), indent=2))
            return 0
        trainer = Trainer(cfg, resume=args.resume, progress=not args.no_progress)
        print(f"synesthete-train: {sum(p.numel() for p in trainer.model.parameters()):,} parameters on "
              f"{trainer.device} ({trainer.describe_compute()}), writing to {trainer.out}", file=sys.stderr)
        result = trainer.fit()
    except (ConfigError, CheckpointError, ValueError) as e:
        print(f"synesthete-train: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("synesthete-train: interrupted", file=sys.stderr)
        return 130
    summary = {k: v for k, v in result.items() if k != "history"}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
