"""`synesthete-bench model`: streaming step time and size of each model architecture.

The hearing model (the shipped default.pt) runs one `step` per frame in the live app and must stay
<= 1 ms at batch 1 on one thread: `hearing_step_ms_median` / `_p95` / `hearing_params` for the
shipped checkpoint's architecture, and `hearing-<encoder>-<bridge>_step_ms_median` for each
registered encoder and bridge swapped into it; plus the per-frame cost of the streaming feature
extractor with the hearing model's features (`features_push_ms_median`).

The rest times the pixel model of the neural look, whose step draws the picture itself, so the
step time at the window's size decides whether it can play live (<= 4 ms at 256x256 on a 2-thread
CPU). Per architecture (the pixel default; "shipped", the architecture of the shipped neural.pt,
which adds chroma, the harmony path and a wider decoder; and each encoder, bridge and decoder
swapped into the default once) the median and p95 step time at 128x128 and 256x256 under
`torch.inference_mode()` with `--threads` torch threads, and the parameter count:

    default_step_ms_median_256, default_step_ms_p95_256, default_step_ms_median_128, default_params,
    shipped_step_ms_median_256, ..., conv-gru-implicit_step_ms_median_256, ...
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from synesthete.bench.part import BenchPart
from synesthete.model import AudioToVideo, HearingConfig, HearingModel, ModelConfig, build_model, model_config
from synesthete.model.config import DEFAULT_SIZE, default_styles
from synesthete.registry import available

SIZES = (128, 256)


def bench_styles() -> tuple[str, ...]:
    """The teacher's styles when the visual package is there, else a stand-in of the same role."""
    try:
        return default_styles()
    except ValueError:
        return tuple(f"style{i}" for i in range(6))


def architectures(styles: tuple[str, ...]) -> dict[str, ModelConfig]:
    """The default, then each registered component swapped into the default once."""
    default = model_config(DEFAULT_SIZE, styles=styles)
    out = {"default": default}
    base = (default.encoder.name, default.bridge.name, default.decoder.name)
    seen = {"-".join(base)}  # the default is timed once, under "default"
    for slot, kind in enumerate(("encoder", "bridge", "decoder")):
        for name in available(kind):
            names = list(base)
            names[slot] = name
            key = "-".join(names)
            if key not in seen:
                seen.add(key)
                out[key] = model_config(DEFAULT_SIZE, styles=styles, encoder={"name": names[0]},
                                        bridge={"name": names[1]}, decoder={"name": names[2]})
    return out


def shipped_architecture() -> ModelConfig:
    """The config of the shipped pixel model (neural.pt, the neural look)."""
    from synesthete.checkpoint import NEURAL_CHECKPOINT, config_from_checkpoint, load_checkpoint

    return config_from_checkpoint(load_checkpoint(NEURAL_CHECKPOINT))


def shipped_hearing() -> HearingConfig:
    """The config of the shipped hearing model (default.pt), what the live app hears with."""
    from synesthete.checkpoint import config_from_checkpoint, load_checkpoint

    return config_from_checkpoint(load_checkpoint(None))  # type: ignore[return-value]


def time_hearing_steps(model: HearingModel, warmup: int, reps: int) -> list[float]:
    """Wall time (ms) of `reps` consecutive hearing steps at batch 1 after `warmup` untimed ones."""
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(warmup + reps, 1, model.cfg.n_features, generator=g)  # (N, 1, F)
    times = []
    with torch.inference_mode():
        state = model.init_state(1, "cpu")
        for i in range(warmup + reps):
            t0 = time.perf_counter()
            _, state = model.step(feats[i], state)
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000.0)
    return times


def bench_hearing(warmup: int, reps: int) -> dict[str, Any]:
    import dataclasses

    from synesthete.model import build_hearing_model

    cfg = shipped_hearing()
    out: dict[str, Any] = {"hearing_arch": f"{cfg.encoder.name}-{cfg.bridge.name}"}
    variants = {"hearing": cfg}
    for enc in available("encoder"):
        for br in available("bridge"):
            if (enc, br) != (cfg.encoder.name, cfg.bridge.name):
                variants[f"hearing-{enc}-{br}"] = dataclasses.replace(
                    cfg, encoder=dataclasses.replace(cfg.encoder, name=enc), bridge=dataclasses.replace(cfg.bridge, name=br))
    for key, c in variants.items():
        torch.manual_seed(0)
        model = build_hearing_model(c).eval()
        times = time_hearing_steps(model, warmup, reps)
        out[f"{key}_step_ms_median"] = round(percentile(times, 0.5), 4)
        out[f"{key}_step_ms_p95"] = round(percentile(times, 0.95), 4)
        out[f"{key}_params"] = model.num_params()
    return out


def time_steps(model: AudioToVideo, size: int, warmup: int, reps: int) -> list[float]:
    """Wall time of `reps` consecutive steps (ms), after `warmup` untimed ones, on a live-like state."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(warmup + reps, 1, cfg.n_features, generator=g)  # (N, 1, F)
    ctl = torch.rand(1, cfg.n_control_inputs, generator=g)
    times = []
    with torch.inference_mode():
        state = model.init_state(1, "cpu")
        for i in range(warmup + reps):
            t0 = time.perf_counter()
            _, state = model.step(feats[i], ctl, state, size=(size, size))
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000.0)
    return times


def time_feature_push(cfg: ModelConfig, reps: int) -> list[float]:
    """Per-frame cost (ms) of `StreamingFeatures.push` fed one hop at a time (the live front end,
    with the features of `cfg`: the shipped checkpoint's, chroma included, in `run`)."""
    from synesthete.features import StreamingFeatures

    stream = StreamingFeatures.for_model(cfg)
    hop = torch.randn(stream.hop).numpy() * 0.1
    times = []
    for i in range(20 + reps):
        t0 = time.perf_counter()
        stream.push(hop)
        if i >= 20:
            times.append((time.perf_counter() - t0) * 1000.0)
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    warmup, reps = (20, 100) if args.quick else (50, 500)
    figures: dict[str, Any] = {}
    push = time_feature_push(shipped_hearing(), reps)  # the live front end: the hearing model's features
    figures["features_push_ms_median"] = round(percentile(push, 0.5), 4)
    figures["features_push_ms_p95"] = round(percentile(push, 0.95), 4)
    figures.update(bench_hearing(warmup, reps))
    shipped = shipped_architecture()  # the neural look's pixel model
    names = architectures(bench_styles())
    names = {"default": names.pop("default"), "shipped": shipped, **names}
    for key, cfg in names.items():
        if getattr(args, "only", None) and key not in args.only and key not in ("default", "shipped"):
            continue
        torch.manual_seed(0)
        model = build_model(cfg).eval()
        if key == "default":
            figures["default_arch"] = f"{cfg.encoder.name}-{cfg.bridge.name}-{cfg.decoder.name}"
        for size in SIZES:
            times = time_steps(model, size, warmup, reps)
            figures[f"{key}_step_ms_median_{size}"] = round(percentile(times, 0.5), 3)
            figures[f"{key}_step_ms_p95_{size}"] = round(percentile(times, 0.95), 3)
        figures[f"{key}_params"] = model.num_params()
    return figures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", nargs="+", default=None, metavar="ARCH",
                        help="architectures to time besides the default and the shipped one, e.g. conv-gru-implicit")


def register() -> BenchPart:
    return BenchPart(name="model", help="hearing step time (batch 1) and pixel model step time (128/256 px) per architecture",
                     run=run, add_arguments=add_arguments)
