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

from synesthete.features import FeatureExtractor
from synesthete.metrics.reconstruction import l1_error, psnr


@dataclass
class HeldOutClip:
    seed: int
    style: str
    audio: np.ndarray  # (S,) float32 at the model rate
    teacher: torch.Tensor  # (T, 3, H, W) float32 in [0, 1]
    controls: torch.Tensor  # (T, C) style one-hot + reactivity
    # The teacher's AV-Align never changes between evaluations: scored once, on first use.
    av_align_teacher: float | None = None


def make_held_out(model_cfg, n_seeds: int, seed_base: int, clip_seconds: float, size: int) -> list[HeldOutClip]:
    from synesthete.audio.engine import render_clip
    from synesthete.visual.teacher import render_teacher

    styles = tuple(model_cfg.styles)
    hop = model_cfg.sample_rate // model_cfg.fps
    n_frames = max(1, round(clip_seconds * model_cfg.fps))
    clips = []
    for i in range(n_seeds):
        seed = seed_base + i
        style = styles[i % len(styles)]
        clip = render_clip(seed, n_frames * hop / model_cfg.sample_rate, sample_rate=model_cfg.sample_rate)
        audio = np.zeros(n_frames * hop, np.float32)
        audio[: clip.audio.shape[-1]] = clip.audio[: n_frames * hop]
        ctrl = clip.score.frame_controls(model_cfg.fps, n_frames)
        teacher = render_teacher(ctrl, {style: 1.0}, size, size, reactivity=1.0)
        controls = torch.zeros(n_frames, len(styles) + model_cfg.n_controls)
        controls[:, styles.index(style)] = 1.0
        controls[:, len(styles)] = 1.0  # reactivity
        clips.append(HeldOutClip(seed, style, audio, teacher, controls))
    return clips


@torch.inference_mode()
def evaluate(model, clips: list[HeldOutClip], device: torch.device, size: int, av_align: bool = True) -> tuple[dict[str, float], np.ndarray]:
    """Return (metrics, sample video (T, H, 2W, 3) uint8: model | teacher) for the first clip."""
    cfg = model.cfg
    feats = FeatureExtractor.for_model(cfg, device)
    was_training = model.training
    model.eval()
    l1s, psnrs, av_model, av_teacher = [], [], [], []
    sample = None
    for clip in clips:
        audio = torch.from_numpy(clip.audio).to(device)[None]  # (1, S)
        f = feats.extract(audio)  # (1, T, F)
        frames = model(f, clip.controls[None].to(device), size=(size, size))[0].float().cpu()  # (T, 3, H, W)
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
    model.train(was_training)
    metrics = {"eval/l1": float(np.mean(l1s)), "eval/psnr": float(np.mean(psnrs))}
    if av_align:
        metrics["eval/av_align_model"] = float(np.mean(av_model))
        metrics["eval/av_align_teacher"] = float(np.mean(av_teacher))
        metrics["eval/av_align_ratio"] = metrics["eval/av_align_model"] / max(metrics["eval/av_align_teacher"], 1e-6)
    return metrics, sample
