"""The training loop: it learns, it checkpoints, it resumes exactly, it tracks offline."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from synesthete.checkpoint import load_model
from synesthete.constants import STEMS
from synesthete.features import FeatureExtractor
from synesthete_train.config import TrackingConfig, load_train_config
from synesthete_train.trainer import TARGET_EPS, Trainer, compute_losses, lr_factor


def test_a_short_real_run_lowers_the_loss(tiny_cfg):
    # Overfit one repeating batch: the loss must clearly fall within a few dozen steps.
    cfg = replace(tiny_cfg, max_steps=40)
    trainer = Trainer(cfg, progress=False)
    batch = next(iter(trainer.loader()))
    losses = [trainer.train_step(batch)["total"] for _ in range(40)]
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5


def test_black_targets_do_not_drive_the_output_into_a_dead_sigmoid(tiny_cfg):
    # Regression: L1 on exactly-black pixels kept pushing the logits down until the sigmoid
    # saturated and the decoder went dead (a static black picture). The loss must instead pull a
    # pixel that is darker than the floor back up, so the logits settle at a finite value.
    logits = torch.full((1, 2, 3, 4, 4), -12.0, requires_grad=True)
    target = torch.zeros(1, 2, 3, 4, 4)
    batch = {"beat_phase": torch.zeros(1, 2), "onset": torch.zeros(1, 2, 5)}
    losses = compute_losses(torch.sigmoid(logits), {}, batch, target, tiny_cfg, pairs=False)
    losses["total"].backward()
    assert (logits.grad < 0).all()  # gradient descent raises them towards logit(TARGET_EPS)
    settled = torch.full_like(logits, float(torch.logit(torch.tensor(TARGET_EPS))) + 0.5)
    assert compute_losses(torch.sigmoid(settled), {}, batch, target, tiny_cfg, pairs=False)["l1"] < 0.01


def test_a_saturated_black_decoder_still_gets_a_gradient_back(tiny_cfg):
    # Regression: the quick recipe's model went black for good in its first steps (logits at
    # -50: the sigmoid had no gradient left). The saturation term reaches the logits directly.
    from synesthete.model import build_model

    torch.manual_seed(0)
    model = build_model(tiny_cfg.model)
    with torch.no_grad():
        model.decoder.to_rgb.bias.fill_(-40.0)
    cfg = tiny_cfg.model
    feats = torch.randn(1, 6, cfg.n_features)
    controls = torch.zeros(1, 6, cfg.n_control_inputs)
    batch = {"beat_phase": torch.zeros(1, 6), "onset": torch.zeros(1, 6, len(STEMS))}
    target = torch.full((1, 6, 3, cfg.height, cfg.width), 0.5)

    def bias_grad(loss_cfg):
        model.zero_grad()
        frames, aux = model(feats, controls, return_aux=True)
        compute_losses(frames, aux, batch, target, loss_cfg, pairs=False)["total"].backward()
        return model.decoder.to_rgb.bias.grad

    without = bias_grad(replace(tiny_cfg, loss=replace(tiny_cfg.loss, saturation=0.0)))
    assert without.abs().max() < 1e-12  # the dead sigmoid alone gives nothing back
    assert (bias_grad(tiny_cfg) < -1.0).all()  # descent raises the logits towards the live range


def test_the_mse_term_pulls_towards_the_mean_where_l1_settles_on_the_median(tiny_cfg):
    """PSNR scores squared error: for a pixel that is bright in one frame of four and black in the
    others, L1's best constant is the black median and MSE's the mean, so with loss.mse on a
    constant prediction of the mean beats one of the median."""
    target = torch.zeros(1, 4, 3, 2, 2)
    target[:, 0] = 1.0
    batch = {"beat_phase": torch.zeros(1, 4), "onset": torch.zeros(1, 4, 5)}
    mse_only = replace(tiny_cfg, loss=replace(tiny_cfg.loss, l1=0.0, mse=1.0, temporal=0.0))

    def total(value: float, cfg) -> float:
        frames = torch.full_like(target, value)
        return float(compute_losses(frames, {}, batch, target, cfg, pairs=False)["total"])

    assert "mse" not in compute_losses(target, {}, batch, target, tiny_cfg, pairs=False)  # off by default
    assert total(0.25, mse_only) < total(TARGET_EPS, mse_only)
    l1_only = replace(mse_only, loss=replace(mse_only.loss, l1=1.0, mse=0.0))
    assert total(TARGET_EPS, l1_only) < total(0.25, l1_only)


def test_the_log_mse_term_weighs_every_clip_by_its_relative_error(tiny_cfg):
    """loss.log_mse is the mean over clips of ln(the clip's MSE): a clip 10x closer to its target
    gets a gradient 10x stronger per unit of error, so halving either clip's error lowers the
    term by the same ln 2 (the evaluation's mean of per-song dB, up to a factor)."""
    target = torch.full((2, 4, 3, 2, 2), 0.5)
    errors = torch.tensor([0.3, 0.03]).view(2, 1, 1, 1, 1)  # clip 0 at 10.5 dB, clip 1 at 30.5 dB
    batch = {"beat_phase": torch.zeros(2, 4), "onset": torch.zeros(2, 4, 5)}
    cfg = replace(tiny_cfg, loss=replace(tiny_cfg.loss, l1=0.0, temporal=0.0, log_mse=1.0))

    def term(err: torch.Tensor) -> torch.Tensor:
        return compute_losses(target + err, {}, batch, target, cfg, pairs=False)["log_mse"]

    assert float(term(errors)) == pytest.approx(float((errors.flatten() ** 2).log().mean()), rel=1e-5)
    halve_loud, halve_quiet = errors * torch.tensor([0.5, 1.0]).view(2, 1, 1, 1, 1), errors * torch.tensor(
        [1.0, 0.5]).view(2, 1, 1, 1, 1)
    assert float(term(errors) - term(halve_loud)) == pytest.approx(float(term(errors) - term(halve_quiet)), rel=1e-4)
    assert float(term(errors) - term(halve_loud)) == pytest.approx(math.log(4) / 2, rel=1e-4)
    assert "log_mse" not in compute_losses(target, {}, batch, target, tiny_cfg, pairs=False)  # off by default


def test_the_chord_loss_trains_the_chord_head_from_the_score(tiny_cfg):
    cfg = replace(tiny_cfg, model=replace(tiny_cfg.model, chord_head=True), loss=replace(tiny_cfg.loss, chord=0.3))
    trainer = Trainer(cfg, progress=False)
    batch = next(iter(trainer.loader()))
    assert batch["chord_root"].shape == batch["beat_phase"].shape and int(batch["chord_root"].max()) < 12
    losses = [trainer.train_step(batch)["chord"] for _ in range(60)]
    assert losses[-1] < 0.8 * losses[0]  # it learns to name the chords of this batch


def test_the_bar_loss_trains_the_bar_head_on_the_score_s_bar_phase(tiny_cfg):
    cfg = replace(tiny_cfg, model=replace(tiny_cfg.model, bar_head=True), loss=replace(tiny_cfg.loss, bar=0.3))
    trainer = Trainer(cfg, progress=False)
    batch = next(iter(trainer.loader()))
    bar = batch["bar_phase"]
    assert bar.shape == batch["beat_phase"].shape and float(bar.min()) >= 0.0 and float(bar.max()) < 1.0
    losses = [trainer.train_step(batch)["bar"] for _ in range(60)]
    assert losses[-1] < 0.8 * losses[0]  # it learns where the bars of this batch start
    frames = torch.zeros(1, 2, 3, 2, 2)

    def bar_loss(aux):
        return compute_losses(frames, aux, batch, frames, cfg, pairs=False).get("bar")

    def sin_cos(phase):
        return torch.stack([torch.sin(2 * torch.pi * phase), torch.cos(2 * torch.pi * phase)], dim=-1)

    assert float(bar_loss({"bar": sin_cos(bar)})) < 1e-10  # the target is the bar phase ...
    assert float(bar_loss({"bar": sin_cos(batch["beat_phase"])})) > 0.05  # ... not the beat's
    assert bar_loss({}) is None  # a model without the head is not asked for it


def test_a_head_loss_without_its_head_is_refused_by_name(tiny_cfg):
    # Otherwise loss.bar = 0.3 on a model without the head would train nothing, silently.
    with pytest.raises(ValueError, match="model.bar_head = true"):
        Trainer(replace(tiny_cfg, loss=replace(tiny_cfg.loss, bar=0.3)), progress=False)
    with pytest.raises(ValueError, match="model.chord_head = true"):
        Trainer(replace(tiny_cfg, loss=replace(tiny_cfg.loss, chord=0.3)), progress=False)


def test_fit_writes_a_checkpoint_the_live_app_can_load(tiny_cfg):
    # Train on pairs of frames (the fast default recipe): the checkpoint still renders whole clips.
    cfg = replace(tiny_cfg, data=replace(tiny_cfg.data, frame_pairs=3))
    result = Trainer(cfg, progress=False).fit()
    ckpt = Path(result["checkpoint"])
    assert ckpt.is_file() and result["step"] == tiny_cfg.max_steps
    assert "eval/psnr" in result and result["eval/psnr"] > 0
    model = load_model(ckpt)
    assert model.cfg.height == 16 and len(model.cfg.styles) > 0


def test_bf16_autocast_trains_on_the_cpu_and_keeps_float32_weights(tiny_cfg):
    # precision=auto picks bf16 on CPUs with native bf16 (faster); forced, it runs on any CPU.
    trainer = Trainer(replace(tiny_cfg, max_steps=12, precision="bf16"), progress=False)
    assert trainer.amp_dtype == torch.bfloat16 and "bf16 autocast" in trainer.describe_compute()
    result = trainer.fit()
    assert result["last_loss"] < result["first_loss"]
    model = load_model(Path(result["checkpoint"]))
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_the_step_sees_float32_features_whoever_makes_them(tiny_cfg):
    """Training on the CPU the data workers make the features; otherwise the step does, outside
    autocast: either way the network gets the float32 features the live app computes (float16
    would overflow on a loud power spectrum). Same batch, same weights: the same losses."""
    from synesthete.data import ProceduralClips

    bf16 = replace(tiny_cfg, precision="bf16")
    trainer = Trainer(bf16, progress=False)
    features = FeatureExtractor.for_model(bf16.model)
    items = [ProceduralClips(trainer.data_config(), features=features).make_item(i) for i in range(2)]
    batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
    assert batch["features"].dtype == torch.float32
    by_step = {k: v for k, v in batch.items() if k != "features"}
    state = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with_workers = trainer.train_step(batch)
    again = Trainer(bf16, progress=False)
    again.model.load_state_dict(state)
    assert again.train_step(by_step) == with_workers
    assert Trainer(replace(bf16, data=replace(bf16.data, num_workers=1)), progress=False).worker_features
    assert not trainer.worker_features  # no workers: the step makes them


def test_auto_threads_leave_a_core_to_each_data_worker():
    from synesthete.device import DEFAULT_CPU_THREADS, training_threads

    assert training_threads(3, data_workers=1) == 3  # asked for: as asked
    assert training_threads(0, data_workers=0) == DEFAULT_CPU_THREADS
    assert training_threads(0, data_workers=1) == max(1, DEFAULT_CPU_THREADS - 1)
    assert training_threads(0, data_workers=64) == 1


def test_no_held_out_songs_means_no_evaluation(tiny_cfg):
    # eval.n_seeds = 0 is how a timing run skips the evaluation: it trains, saves, reports no eval/ figures.
    result = Trainer(replace(tiny_cfg, max_steps=2, eval=replace(tiny_cfg.eval, n_seeds=0, every=1)), progress=False).fit()
    assert result["step"] == 2 and Path(result["checkpoint"]).is_file()
    assert not [k for k in result if k.startswith("eval/")]
    with pytest.raises(ValueError, match="eval.n_seeds must be >= 0"):
        load_train_config(None, ["eval.n_seeds=-1"])


def test_resume_continues_exactly_where_training_stopped(tiny_cfg, tmp_path):
    straight = Trainer(replace(tiny_cfg, max_steps=4, out=str(tmp_path / "a")), progress=False)
    straight.fit()
    first = Trainer(replace(tiny_cfg, max_steps=2, out=str(tmp_path / "b")), progress=False)
    first.fit()
    resumed = Trainer(replace(tiny_cfg, max_steps=4, out=str(tmp_path / "b")), resume=tmp_path / "b" / "last.pt",
                      progress=False)
    assert resumed.step == 2
    resumed.fit()
    for (name, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=f"parameter {name} differs after resume")


def test_learning_rate_warms_up_then_decays(tiny_cfg):
    cfg = replace(tiny_cfg, max_steps=100)
    factors = [lr_factor(s, cfg) for s in range(100)]
    assert factors[0] < factors[1] <= 1.0
    assert max(factors) == factors[cfg.optim.warmup_steps]
    assert factors[-1] < 0.2


def test_wandb_offline_writes_its_files_without_a_network(tiny_cfg, monkeypatch):
    # No proxy, no key, and an unroutable base URL: offline mode must not care.
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    cfg = replace(tiny_cfg, max_steps=2, tracking=TrackingConfig(mode="offline"))
    Trainer(cfg, progress=False).fit()
    runs = list((Path(cfg.out) / "wandb").glob("offline-run-*"))
    assert runs, "wandb offline run folder was not written"
    assert any(p.suffix == ".wandb" for p in runs[0].iterdir())
    assert list(Path(cfg.out).glob("media/eval_*.mp4")), "the model-vs-teacher sample video was not written"


def test_held_out_evaluation_scores_the_teacher_once(tiny_cfg):
    """The teacher's AV-Align does not change between evaluations: it is computed on the first
    and reused, and the figures stay the same when nothing was trained in between."""
    from synesthete.model import build_model
    from synesthete_train.evaluation import evaluate, make_held_out

    torch.manual_seed(0)
    model = build_model(tiny_cfg.model)
    held_out = make_held_out(tiny_cfg.model, n_seeds=1, seed_base=10_000, clip_seconds=1.0, size=32)
    assert held_out.teacher_av == {}
    first, _ = evaluate(model, held_out, torch.device("cpu"), 32)
    assert held_out.teacher_av == {0: first["eval/av_align_teacher"]}
    again, _ = evaluate(model, held_out, torch.device("cpu"), 32)
    assert again == first
