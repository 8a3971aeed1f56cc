"""Evaluation during training, on a fixed set of held-out procedural songs.

The held-out seeds (`eval.seed_base + i`) are never drawn by the training stream (training items
are seeded through `SeedSequence([seed, index])`, a different space). Each held-out clip is drawn
by one teacher style (cycling through the styles), at reactivity 1, so the figures are comparable
from run to run. Reported: L1 and PSNR against the teacher at `eval.size`, and the AV-Align score
of the model's frames next to the teacher's on the same audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from synesthete.eval_cli import model_frames, procedural_item
from synesthete.metrics.reconstruction import l1_error, psnr


@dataclass
class HeldOutClip:
    seed: int
    style: str
    audio: np.ndarray  # (S,) float32 at the model rate
    teacher: torch.Tensor  # (T, 3, H, W) float32 in [0, 1]
    # The teacher's AV-Align never changes between evaluations: scored once, on first use.
    av_align_teacher: float | None = None


def make_held_out(model_cfg, n_seeds: int, seed_base: int, clip_seconds: float, size: int) -> list[HeldOutClip]:
    """The songs `synesthete-eval` scores (`procedural_item`, without its quiet tail)."""
    clips = []
    for i in range(n_seeds):
        item = procedural_item(model_cfg, seed_base + i, i, clip_seconds, size)
        clips.append(HeldOutClip(seed_base + i, item.style, item.audio, item.teacher))
    return clips


@torch.inference_mode()
def evaluate(model, clips: list[HeldOutClip], device: torch.device, size: int, av_align: bool = True) -> tuple[dict[str, float], np.ndarray]:
    """Return (metrics, sample video (T, H, 2W, 3) uint8: model | teacher) for the first clip."""
    cfg = model.cfg
    l1s, psnrs, av_model, av_teacher = [], [], [], []
    sample = None
    for clip in clips:
        frames = model_frames(model, clip.audio, clip.style, size, device)  # (T, 3, H, W) on the CPU
        l1s.append(float(l1_error(frames, clip.teacher)))
        psnrs.append(float(psnr(frames, clip.teacher)))
        if av_align:
            from synesthete.metrics.av_align import av_align_score

            av_model.append(av_align_score(clip.audio, frames, cfg.sample_rate, cfg.fps))
            if clip.av_align_teacher is None:
                clip.av_align_teacher = av_align_score(clip.audio, clip.teacher, cfg.sample_rate, cfg.fps)
            av_teacher.append(clip.av_align_teacher)
        if sample is None:
            both = torch.cat([frames, clip.teacher], dim=-1)  # (T, 3, H, 2W)
            sample = (both.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    metrics = {"eval/l1": float(np.mean(l1s)), "eval/psnr": float(np.mean(psnrs))}
    if av_align:
        metrics["eval/av_align_model"] = float(np.mean(av_model))
        metrics["eval/av_align_teacher"] = float(np.mean(av_teacher))
        metrics["eval/av_align_ratio"] = metrics["eval/av_align_model"] / max(metrics["eval/av_align_teacher"], 1e-6)
    return metrics, sample
