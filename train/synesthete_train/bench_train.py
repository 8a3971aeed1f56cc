"""`synesthete-bench train`: training throughput (clips/s) per architecture, and end to end.

Model throughput uses one fixed batch made once by the data engine, so it measures the network
(features + forward + backward + optimizer) alone; the end-to-end figure runs the real Trainer
with its DataLoader worker, as `synesthete-train` would on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from typing import Any


from synesthete.bench.part import BenchPart


def _variants(base) -> dict[str, Any]:
    from synesthete.registry import available

    variants = {"default": base}
    for name in available("encoder"):
        if name != base.encoder.name:
            variants[f"encoder={name}"] = replace(base, encoder=replace(base.encoder, name=name))
    for name in available("bridge"):
        if name != base.bridge.name:
            variants[f"bridge={name}"] = replace(base, bridge=replace(base.bridge, name=name))
    for name in available("decoder"):
        if name != base.decoder.name:
            variants[f"decoder={name}"] = replace(base, decoder=replace(base.decoder, name=name))
    return variants


def run(args: argparse.Namespace) -> dict[str, Any]:
    from synesthete_train.config import TrainConfig
    from synesthete_train.trainer import Trainer, resolve_model_styles

    base_cfg = resolve_model_styles(TrainConfig(device="cpu", tracking=replace(TrainConfig().tracking, mode="disabled")))
    steps, repeats = (2, 2) if args.quick else (4, 3)
    figures: dict[str, Any] = {"batch_size": base_cfg.optim.batch_size,
                               "clip_seconds": base_cfg.data.clip_seconds,
                               "train_size": f"{base_cfg.model.width}x{base_cfg.model.height}"}
    with tempfile.TemporaryDirectory() as tmp:
        probe = Trainer(replace(base_cfg, out=tmp), progress=False)
        batch = next(iter(probe.loader()))
        batch.pop("features", None)  # "model only" includes the feature front end, as before
        variants = _variants(base_cfg.model)
        if args.quick:
            variants = {"default": variants["default"]}
        for label, mcfg in variants.items():
            # The network alone, at the bench's --threads (the end-to-end run below picks its own).
            trainer = Trainer(replace(base_cfg, model=mcfg, out=tmp, threads=args.threads), progress=False)
            trainer.train_step(batch)  # warm-up
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                for _ in range(steps):
                    trainer.train_step(batch)
                times.append((time.perf_counter() - t0) / steps)
            key = label.replace("=", "_")
            figures[f"{key}_clips_per_s"] = round(base_cfg.optim.batch_size / statistics.median(times), 2)
            figures[f"{key}_params"] = sum(p.numel() for p in trainer.model.parameters())
        e2e_steps = 3 if args.quick else 10
        cfg = replace(base_cfg, out=tmp, max_steps=e2e_steps, eval=replace(base_cfg.eval, every=0, n_seeds=0),
                      checkpoint_every=0)
        trainer = Trainer(cfg, progress=False)
        figures["precision"] = trainer.describe_compute()
        result = trainer.fit()
        figures["end_to_end_clips_per_s"] = round(result["clips_per_s"], 2)
        figures["end_to_end_steps"] = e2e_steps
        figures["realtime_factor_training"] = round(result["clips_per_s"] * base_cfg.data.clip_seconds, 2)
    return figures


def register() -> BenchPart:
    return BenchPart(name="train", help="training throughput (clips/s) per architecture and end to end", run=run)
