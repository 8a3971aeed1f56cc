"""The training loop: infinite procedural clips in, a checkpoint the live app can load out.

One step: a batch of clips from the data engine (DataLoader workers make them on the CPU), causal
features in float32 (made by the data workers when training on the CPU, else on the device),
`model.forward` over the whole clip with the style/reactivity controls, and a loss that rewards
synchrony as well as pixels:

  l1 * |frames - teacher| + temporal * |d/dt frames - d/dt teacher| + beat * aux + onset * aux

Checkpoints hold the weights, the full model config and the training state (optimizer,
scheduler, step, RNG, data position), so `--resume` continues exactly where training stopped:
the data stream is indexed, and resuming at step n starts it at item n * batch_size. With
`optim.ema_decay` > 0 the checkpoint's weights (and every evaluation) are a moving average of the
optimizer's weights (`weight_average.py`), which travel in the training state for `--resume`.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from synesthete.checkpoint import cpu_weights, load_checkpoint, save_checkpoint
from synesthete.config import from_dict, to_dict
from synesthete.data import DataConfig, ProceduralClips
from synesthete.device import autocast_dtype, pick_device, training_threads
from synesthete.features import FeatureExtractor
from synesthete.model import build_model
from synesthete_train.config import TrainConfig, data_config
from synesthete_train.tracking import Tracker
from synesthete_train.weight_average import WeightAverage


def resolve_model_styles(cfg: TrainConfig) -> TrainConfig:
    """Fill in the teacher's style list when the preset leaves it empty."""
    from synesthete.visual.teacher import STYLE_NAMES

    if cfg.model.styles:
        unknown = [s for s in cfg.model.styles if s not in STYLE_NAMES]
        if unknown:
            raise ValueError(f"model.styles: unknown style(s) {unknown}; known: {', '.join(STYLE_NAMES)}")
        if tuple(cfg.model.styles) != tuple(STYLE_NAMES):
            raise ValueError("model.styles must list every teacher style in order (leave it empty to fill it in)")
        return cfg
    return replace(cfg, model=replace(cfg.model, styles=tuple(STYLE_NAMES)))


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to min_lr_ratio at max_steps."""
    o = cfg.optim
    if step < o.warmup_steps:
        return (step + 1) / max(1, o.warmup_steps)
    progress = min(1.0, (step - o.warmup_steps) / max(1, cfg.max_steps - o.warmup_steps))
    return o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


TARGET_EPS = 1.0 / 255.0
LOG_MSE_FLOOR = 1e-5  # 50 dB: no clip is that close, so the floor only guards the log against 0


def phase_target(phase: torch.Tensor) -> torch.Tensor:
    """(sin, cos) of 2*pi*phase, (..., 2), phase (...) in cycles (beat, bar): what a phase head regresses."""
    angle = phase.float() * (2 * math.pi)
    return torch.stack([angle.sin(), angle.cos()], dim=-1)


def phase_loss(head: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """MSE of a (..., 2) head against (sin, cos) of 2*pi*phase, phase (...) in cycles (beat, bar)."""
    return F.mse_loss(head.float(), phase_target(phase))


def compute_losses(frames: torch.Tensor, aux: dict[str, torch.Tensor], batch: dict[str, torch.Tensor],
                   target: torch.Tensor, cfg: TrainConfig, pairs: bool) -> dict[str, torch.Tensor]:
    """frames, target: (B, K, 3, H, W) in [0, 1]: every frame of the clip, or (pairs=True) K/2
    pairs of consecutive frames [t0, t0 + 1, t1, t1 + 1, ...]."""
    w = cfg.loss
    # The teacher's backgrounds are exactly black, and L1's gradient keeps its full size however
    # close the sigmoid gets: on a 0 target it drives the logits to -inf, the sigmoid saturates and
    # the whole decoder goes dark and dead (seen at lr 3e-3 within 200 steps). A target floor of
    # TARGET_EPS gives those pixels an equilibrium (1/255 of brightness, invisible) instead.
    target = target.clamp(TARGET_EPS, 1.0 - TARGET_EPS)
    losses = {"l1": F.l1_loss(frames, target)}
    if w.mse:
        losses["mse"] = F.mse_loss(frames, target)
    if w.log_mse:
        per_clip = (frames.float() - target).square().flatten(1).mean(1)  # (B,)
        losses["log_mse"] = per_clip.clamp_min(LOG_MSE_FLOOR).log().mean()
    if frames.shape[1] > 1:
        if pairs:
            b, k = frames.shape[:2]
            fp, tp = frames.view(b, k // 2, 2, *frames.shape[2:]), target.view(b, k // 2, 2, *target.shape[2:])
            losses["temporal"] = F.l1_loss(fp[:, :, 1] - fp[:, :, 0], tp[:, :, 1] - tp[:, :, 0])
        else:
            losses["temporal"] = F.l1_loss(frames[:, 1:] - frames[:, :-1], target[:, 1:] - target[:, :-1])
    if "beat" in aux and w.beat:
        losses["beat"] = phase_loss(aux["beat"], batch["beat_phase"])
    if "onset" in aux and w.onset:
        losses["onset"] = F.binary_cross_entropy_with_logits(aux["onset"].float(), batch["onset"])
    if "bar" in aux and w.bar and "bar_phase" in batch:
        losses["bar"] = phase_loss(aux["bar"], batch["bar_phase"])
    if "chord" in aux and w.chord and "chord_root" in batch:
        losses["chord"] = F.cross_entropy(aux["chord"].float().reshape(-1, 12), batch["chord_root"].reshape(-1))
    if "logit_excess" in aux and w.saturation:
        losses["saturation"] = aux["logit_excess"]
    weights = {"l1": w.l1, "mse": w.mse, "log_mse": w.log_mse, "temporal": w.temporal, "beat": w.beat,
               "onset": w.onset, "chord": w.chord, "bar": w.bar, "saturation": w.saturation}
    losses["total"] = sum(weights[k] * v for k, v in losses.items())
    return losses


def run_steps(trainer: Any, bar: tqdm, tracker: Tracker, history: list[dict[str, float]], t_start: float,
              log: Any, between_steps: Any = None) -> None:
    """The optimisation loop both trainers share: steps from `trainer.loader()` until `max_steps`
    or the `max_minutes` budget, logging each step, checkpointing every `checkpoint_every` steps
    and calling `between_steps()` after every step that is not the last."""
    cfg = trainer.cfg
    if trainer.step >= cfg.max_steps:
        return
    for batch in trainer.loader():
        t0 = time.perf_counter()
        losses = trainer.train_step(batch)
        history.append(losses)
        clips_per_s = cfg.optim.batch_size / max(1e-9, time.perf_counter() - t0)
        lr = trainer.scheduler.get_last_lr()[0]
        bar.update(1)
        bar.set_postfix(loss=f"{losses['total']:.4f}", clips_s=f"{clips_per_s:.1f}", lr=f"{lr:.2e}")
        tracker.log({**{f"train/{k}": v for k, v in losses.items()}, "train/lr": lr,
                     "train/clips_per_s": clips_per_s}, trainer.step)
        elapsed_min = (time.perf_counter() - t_start) / 60
        out_of_time = cfg.max_minutes > 0 and elapsed_min >= cfg.max_minutes
        if trainer.step >= cfg.max_steps or out_of_time:
            if out_of_time:
                log(f"time budget of {cfg.max_minutes:g} min reached at step {trainer.step}")
            return
        if cfg.checkpoint_every and trainer.step % cfg.checkpoint_every == 0:
            trainer.save(trainer.out / "last.pt")
        if between_steps is not None:
            between_steps()


class TrainerBase:
    """What the pixel trainer (`Trainer`) and the hearing trainer (hearing.py) share: resuming a
    run from its checkpoint, the optimiser, its schedule and weight average, one optimiser step,
    saving, and the summary `fit` returns. Subclasses build `self.model`, then call `_setup`."""

    cfg: Any
    model: torch.nn.Module
    out: Path

    @staticmethod
    def _resumed_config(cfg: Any, resume: str | Path | None, config_cls: type, kind: str) -> tuple[Any, dict | None]:
        """(the config to train with, the checkpoint to resume from or None)."""
        if resume is None:
            return cfg, None
        ckpt = load_checkpoint(resume)
        if not ckpt.get("train_state") or ckpt.get("kind", "pixel") != kind:
            raise ValueError(f"{resume}: this checkpoint has no {kind} model training state to resume from")
        saved = from_dict(config_cls, ckpt["train_state"]["config"], "checkpoint config")
        # Resuming keeps the model and data of the run; budgets and output may be changed.
        cfg = replace(saved, max_steps=cfg.max_steps, max_minutes=cfg.max_minutes, out=cfg.out,
                      device=cfg.device, tracking=cfg.tracking, checkpoint_every=cfg.checkpoint_every)
        return cfg, ckpt

    def _begin(self, cfg: Any, progress: bool) -> None:
        """Before the model is built: the config, threads, seed and device."""
        self.cfg = cfg
        self.progress = progress
        torch.set_num_threads(training_threads(cfg.threads, cfg.data.num_workers))
        torch.manual_seed(cfg.seed)
        self.device = pick_device(cfg.device)

    def _loader(self, dataset: torch.utils.data.IterableDataset) -> DataLoader:
        workers = self.cfg.data.num_workers
        return DataLoader(dataset, batch_size=self.cfg.optim.batch_size, num_workers=workers,
                          prefetch_factor=4 if workers else None, persistent_workers=False,
                          pin_memory=self.device.type == "cuda")

    def _setup(self, resume_state: dict | None) -> None:
        """After the model is built: the optimiser, schedule and average, restored when resuming."""
        cfg = self.cfg
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_factor(s, cfg))
        self.step = 0
        self.average = WeightAverage(self.model, cfg.optim.ema_decay) if cfg.optim.ema_decay else None
        if resume_state is not None:
            ts = resume_state["train_state"]
            if self.average is not None:
                # The checkpoint's weights are the average (what the live app loads); the
                # optimizer's own weights travel in the training state.
                self.average.load_state_dict(resume_state["state_dict"], int(ts["average_updates"]))
                self.model.load_state_dict(ts["live_weights"])
            else:
                self.model.load_state_dict(resume_state["state_dict"])
            self.optimizer.load_state_dict(ts["optimizer"])
            self.scheduler.load_state_dict(ts["scheduler"])
            self.step = int(ts["step"])
            torch.set_rng_state(ts["rng"])
        self.out = Path(cfg.out)

    def optimise(self, losses: dict[str, torch.Tensor]) -> dict[str, float]:
        """One optimiser step on losses["total"]; the losses as floats."""
        self.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        if self.cfg.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        if self.average is not None:
            self.average.update(self.model)
        self.step += 1
        return {k: float(v.detach()) for k, v in losses.items()}

    @property
    def shipped_model(self) -> torch.nn.Module:
        """The weights that are evaluated and saved as the checkpoint's: the average if there is one."""
        return self.model if self.average is None else self.average.model

    def save(self, path: Path, extra: dict[str, Any] | None = None) -> Path:
        train_state = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "rng": torch.get_rng_state(),
            "config": to_dict(self.cfg),
        }
        if self.average is not None:
            train_state["live_weights"] = cpu_weights(self.model)
            train_state["average_updates"] = self.average.updates
        save_checkpoint(path, self.shipped_model, train_state=train_state, extra=extra)
        return path

    def summary(self, start_step: int, train_seconds: float, history: list[dict[str, float]],
                metrics: dict[str, float]) -> dict[str, Any]:
        """What `fit` returns (and the CLI prints, less the history)."""
        return {
            "step": self.step,
            "train_seconds": train_seconds,
            "clips_per_s": (self.step - start_step) * self.cfg.optim.batch_size / max(train_seconds, 1e-9),
            "first_loss": history[0]["total"] if history else float("nan"),
            "last_loss": history[-1]["total"] if history else float("nan"),
            "history": history,
            "checkpoint": str(self.out / "last.pt"),
            **metrics,
        }


class Trainer(TrainerBase):
    def __init__(self, cfg: TrainConfig, resume: str | Path | None = None, progress: bool = True) -> None:
        cfg = resolve_model_styles(cfg)
        cfg, self.resume_state = self._resumed_config(cfg, resume, TrainConfig, "pixel")
        for loss_key, head in (("bar", "bar_head"), ("chord", "chord_head")):
            if getattr(cfg.loss, loss_key) and not (cfg.model.aux_heads and getattr(cfg.model, head)):
                raise ValueError(f"loss.{loss_key} = {getattr(cfg.loss, loss_key)} trains an aux head this model does "
                                 f"not have: set model.{head} = true (or loss.{loss_key} = 0)")
        self._begin(cfg, progress)
        self.model = build_model(cfg.model).to(self.device)
        m = cfg.model
        self.features = FeatureExtractor.for_model(m, self.device)
        self._setup(self.resume_state)
        self.amp_dtype = self._amp_dtype()

    def _amp_dtype(self) -> torch.dtype | None:
        p = self.cfg.precision
        if p == "fp32":
            return None
        if p == "auto":
            return autocast_dtype(self.device)
        if p == "fp16" and self.device.type == "cpu":
            raise ValueError("precision fp16 is not supported on the CPU; use bf16 or fp32")
        return torch.bfloat16 if p == "bf16" else torch.float16

    def describe_compute(self) -> str:
        """e.g. "bf16 autocast, 1 thread + 1 data worker": what the progress speed depends on."""
        precision = {torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast", None: "fp32"}[self.amp_dtype]
        threads, workers = torch.get_num_threads(), self.cfg.data.num_workers
        return f"{precision}, {threads} thread{'s' * (threads != 1)} + {workers} data worker{'s' * (workers != 1)}"

    def data_config(self) -> DataConfig:
        return data_config(self.cfg)

    @property
    def worker_features(self) -> bool:
        """Training on the CPU with data workers: the workers compute the input features. The
        step (on one thread here) is the bottleneck and a worker idles ~40 % of each step; on a
        GPU the features are cheaper on the device and the workers are the bottleneck."""
        return self.device.type == "cpu" and self.cfg.data.num_workers > 0

    def loader(self) -> DataLoader:
        features = self.features if self.worker_features else None  # the step's own extractor, on the CPU
        return self._loader(ProceduralClips(self.data_config(), start_index=self.step * self.cfg.optim.batch_size,
                                            features=features))

    def controls(self, batch: dict[str, torch.Tensor], n_frames: int) -> torch.Tensor:
        ctl = torch.cat([batch["style"], batch["reactivity"]], dim=-1)  # (B, C)
        return ctl[:, None, :].expand(-1, n_frames, -1)  # (B, T, C)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        target = batch["frames"].float() / 255.0  # (B, T, 3, H, W)
        autocast = (torch.autocast(self.device.type, dtype=self.amp_dtype) if self.amp_dtype
                    else contextlib.nullcontext())
        n = batch["beat_phase"].shape[1]
        pairs = target.shape[1] < n  # the data engine drew pairs of frames, not the whole clip
        # Float32 features whatever the autocast: the live app computes them in float32, and
        # float16 would overflow on a loud power spectrum (|X|^2 > 65504).
        feats = batch["features"] if "features" in batch else self.features.extract(batch["audio"])  # (B, T, F)
        feats = feats[:, :n]
        with autocast:
            frames, aux = self.model(feats, self.controls(batch, n), return_aux=True,
                                     frame_index=batch["frame_index"] if pairs else None)  # (B, K, 3, H, W)
        losses = compute_losses(frames.float(), aux, batch, target, self.cfg, pairs)
        return self.optimise(losses)

    def fit(self) -> dict[str, Any]:
        from synesthete_train.evaluation import evaluate, make_held_out

        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        tracker = Tracker(cfg.tracking.mode, cfg.tracking.project, self.out, config=to_dict(cfg))
        held_out = None
        history: list[dict[str, float]] = []
        metrics: dict[str, float] = {}
        t_start = time.perf_counter()
        start_step = self.step
        bar = tqdm(total=cfg.max_steps, initial=self.step, disable=not self.progress, unit="step",
                   dynamic_ncols=True, desc="train", file=sys.stderr)
        self.model.train()
        evaluating = cfg.eval.n_seeds > 0  # eval.n_seeds = 0: no held-out songs, no evaluation

        def log(message: str) -> None:  # progress and messages go to stderr; stdout is for results
            bar.write(message, file=sys.stderr)

        def run_eval() -> dict[str, float]:
            nonlocal held_out
            if held_out is None:
                e = cfg.eval
                held_out = make_held_out(cfg.model, e.n_seeds, e.seed_base, e.clip_seconds, e.size)
            m, sample = evaluate(self.shipped_model, held_out, self.device, cfg.eval.size, cfg.eval.av_align)
            tracker.log(m, self.step)
            if tracker.enabled and sample is not None:
                tracker.log_video("eval/model_vs_teacher", sample, cfg.model.fps, self.step,
                                  self.out / "media" / f"eval_{self.step:06d}.mp4")
            log(f"step {self.step}: " + ", ".join(f"{k.split('/')[-1]}={v:.4g}" for k, v in m.items()))
            return m

        def between_steps() -> None:
            nonlocal metrics
            if evaluating and cfg.eval.every and self.step % cfg.eval.every == 0:
                metrics = run_eval()

        try:
            run_steps(self, bar, tracker, history, t_start, log, between_steps)
            train_seconds = time.perf_counter() - t_start
            self.save(self.out / "last.pt")
            # The data workers are gone: the last evaluation may use the cores they kept free.
            torch.set_num_threads(training_threads(cfg.threads, 0))
            if evaluating:
                metrics = run_eval()
        except KeyboardInterrupt:
            # Ctrl-C: keep what was learned so far; --resume continues from here.
            self.save(self.out / "last.pt")
            log(f"interrupted at step {self.step}; checkpoint written to {self.out / 'last.pt'}")
            raise
        finally:
            bar.close()
            tracker.finish()
        return self.summary(start_step, train_seconds, history, metrics)
