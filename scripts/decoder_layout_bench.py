"""The conv decoder's weight layout, timed: channels-last (what it uses) against NCHW, in one run.

oneDNN's CPU convolutions keep channels-last activations from stage to stage when the weights are
channels-last; with NCHW weights a layout copy sits around every upsample, and in a training step
of the shipped recipe that copy took a quarter of the time (torch.profiler: `aten::copy_` under
`upsample_nearest2d`). This script times, for the shipped checkpoint's decoder on this machine's
threads, the training-shaped call (128 frames forward + backward: 16 clips x 4 frame pairs) and
the live call (one frame drawn at 256x256, no grad), median over repeats, both layouts
interleaved so a noisy machine hurts both alike. Usage:

    uv run python scripts/decoder_layout_bench.py [--checkpoint PATH] [--threads 2] [--repeats 9] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from synesthete.checkpoint import load_model


def _time(fn, repeats: int) -> list[float]:
    fn()  # warm-up: oneDNN picks its kernels on the first call
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(1000.0 * (time.perf_counter() - t0))
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="pixel model checkpoint (default: the shipped neural.pt)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2, like the benches)")
    parser.add_argument("--repeats", type=int, default=9, help="timed calls per figure and round (default 9)")
    parser.add_argument("--json", default=None, help="write the figures as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = load_model(args.checkpoint, device="cpu", kind="pixel")
    decoder = model.decoder
    z = torch.randn(128, model.cfg.latent_dim, requires_grad=True)  # 16 clips x 4 frame pairs
    c = torch.rand(128, model.cfg.n_control_inputs)
    z1, c1 = z[:1].detach(), c[:1]

    def train() -> None:
        decoder.zero_grad(set_to_none=True)
        decoder(z, c).square().mean().backward()

    def live() -> None:
        with torch.inference_mode():
            decoder(z1, c1, (256, 256))

    convs = [*decoder.convs, decoder.to_rgb]
    times: dict[str, list[float]] = {}
    for _ in range(3):  # rounds, alternating the layouts
        for layout, fmt in (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last)):
            for conv in convs:
                conv.to(memory_format=fmt)
            times.setdefault(f"{layout}_train_ms", []).extend(_time(train, args.repeats))
            times.setdefault(f"{layout}_live_256_ms", []).extend(_time(live, 5 * args.repeats))
    figures = {k: round(statistics.median(v), 3) for k, v in times.items()}
    figures["train_speedup"] = round(figures["nchw_train_ms"] / figures["channels_last_train_ms"], 2)
    figures["live_speedup"] = round(figures["nchw_live_256_ms"] / figures["channels_last_live_256_ms"], 2)
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    return figures


if __name__ == "__main__":
    main()
