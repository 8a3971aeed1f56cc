"""`synesthete-train`: train an AudioToVideo model on the infinite procedural data engine."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EPILOG = """\
examples:
  synesthete-train                                   # laptop defaults, writes runs/default/last.pt
  synesthete-train --config presets/train_default.toml --out runs/mine
  synesthete-train --config presets/train_default.toml model.bridge.hidden=256 optim.lr=1e-3
  synesthete-train --resume runs/mine/last.pt --max-steps 4000     # continue exactly where it stopped
  synesthete-train --max-steps 20 --device cpu                     # a quick smoke run

Overrides are dotted keys of the config (see presets/train_default.toml for every key), parsed as
TOML values: numbers, true/false, "strings", [lists]. Experiment tracking (wandb) is off unless
tracking.mode=offline (a local run folder, no account needed) or tracking.mode=online.
The checkpoint (weights + model config + training state) is what synesthete-live and
synesthete-render load: synesthete-live --checkpoint runs/mine/last.pt
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="synesthete-train",
        description="Train Synesthete's audio-to-video network on endless procedurally generated music "
        "paired with procedurally drawn visuals. Nothing is written to disk but checkpoints and logs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. optim.lr=1e-3")
    p.add_argument("--config", type=Path, help="TOML or YAML training preset (default: built-in defaults)")
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    p.add_argument("--max-minutes", type=float, help="stop after this much wall-clock time (checkpoint is still written)")
    p.add_argument("--out", type=Path, help="run folder for checkpoints, logs and media (default: runs/default)")
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
    from synesthete_train.config import load_train_config

    overrides = list(args.overrides)
    for flag, key in ((args.max_steps, "max_steps"), (args.max_minutes, "max_minutes"), (args.out, "out"),
                      (args.device, "device"), (args.workers, "data.num_workers")):
        if flag is not None:
            value = json.dumps(str(flag)) if isinstance(flag, (str, Path)) else flag
            overrides.append(f"{key}={value}")
    try:
        cfg = load_train_config(args.config, overrides)
        if args.print_config:
            print(json.dumps(to_dict(cfg), indent=2))
            return 0
        from synesthete_train.trainer import Trainer

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
