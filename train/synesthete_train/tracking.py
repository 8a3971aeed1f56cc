"""Experiment tracking: a small wrapper over wandb that is off or offline unless asked.

`Tracker(mode="disabled" | "offline" | "online")`. Disabled logs nothing and never imports wandb;
offline writes a run folder that `wandb sync` can upload later; online is only used when the user
asks for it. Nothing here ever needs a network or an account: offline mode sets the environment so
wandb does not try to log in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

MODES = ("disabled", "offline", "online")


class Tracker:
    def __init__(self, mode: str = "disabled", project: str = "synesthete", run_dir: str | Path = "runs",
                 config: dict[str, Any] | None = None, name: str | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"tracking.mode {mode!r}: choose one of {', '.join(MODES)}")
        self.mode = mode
        self.run = None
        self.run_dir = Path(run_dir)
        if mode == "disabled":
            return
        if mode == "offline":
            os.environ["WANDB_MODE"] = "offline"
            os.environ.setdefault("WANDB_SILENT", "true")
        os.environ.setdefault("WANDB_DISABLE_GIT", "true")
        import wandb

        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(project=project, mode=mode, dir=str(self.run_dir), config=config or {},
                              name=name, reinit="finish_previous")

    @property
    def enabled(self) -> bool:
        return self.run is not None

    @property
    def files_dir(self) -> Path | None:
        return Path(self.run.dir) if self.run is not None else None

    def log(self, metrics: dict[str, Any], step: int) -> None:
        if self.run is not None:
            self.run.log(metrics, step=step)

    def log_video(self, name: str, frames: np.ndarray, fps: int, step: int, path: Path) -> None:
        """Log a short clip (T, H, W, 3) uint8, written as mp4 first (wandb needs no moviepy then)."""
        if self.run is None:
            return
        import wandb

        from synesthete.mp4_writer import Mp4Writer

        t, h, w, _ = frames.shape
        path.parent.mkdir(parents=True, exist_ok=True)
        with Mp4Writer(path, width=w, height=h, fps=fps, sample_rate=None) as writer:
            writer.write_frames(frames)
        self.run.log({name: wandb.Video(str(path), format="mp4")}, step=step)

    def finish(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None
