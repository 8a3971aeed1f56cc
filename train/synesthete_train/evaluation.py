"""Evaluation during training, on a fixed set of held-out procedural songs.

The held-out seeds (`eval.seed_base + i`) are never drawn by the training stream (training items
are seeded through `SeedSequence([seed, index])`, a different space). Each held-out clip is drawn
by one teacher style (cycling through the styles), at reactivity 1, so the figures are comparable
from run to run. Reported: L1 and PSNR against the teacher at `eval.size`, and the AV-Align score
of the model's frames next to the teacher's on the same audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from synesthete.evaluation import EvalItem, procedural_item, teacher_figures


@dataclass
class HeldOut:
    items: list[EvalItem]  # audio at the model rate and the teacher's frames at eval.size
    # The teachers' AV-Align never changes between evaluations: scored once, on first use.
    teacher_av: dict[int, float] = field(default_factory=dict)


def make_held_out(model_cfg, n_seeds: int, seed_base: int, clip_seconds: float, size: int) -> HeldOut:
    """The songs `synesthete-eval` scores (`procedural_item`, without its quiet tail)."""
    return HeldOut([procedural_item(model_cfg, seed_base + i, i, clip_seconds, size) for i in range(n_seeds)])


def evaluate(model, held_out: HeldOut, device: torch.device, size: int, av_align: bool = True) -> tuple[dict[str, float], np.ndarray]:
    """Return (metrics, sample video (T, H, 2W, 3) uint8: model | teacher) for the first clip."""
    figures, frames = teacher_figures(model, held_out.items, size, device, av_align, held_out.teacher_av)
    metrics = {f"eval/{k}": v for k, v in figures.items()}
    if av_align:
        metrics["eval/av_align_ratio"] = metrics["eval/av_align_model"] / max(metrics["eval/av_align_teacher"], 1e-6)
    both = torch.cat([frames, held_out.items[0].teacher], dim=-1)  # (T, 3, H, 2W)
    sample = (both.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return metrics, sample
