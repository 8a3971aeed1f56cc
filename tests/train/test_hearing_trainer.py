"""Training the hearing model: one loss per field against the score, it learns, checkpoints, resumes."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from synesthete.checkpoint import load_checkpoint, load_model, save_checkpoint
from synesthete.constants import FPS, STEMS
from synesthete.model import HearingModel, hearing_config
from synesthete.hearing_evaluation import HearingItem
from synesthete.metrics.hearing import score_events
from synesthete.model.hearing import HEAD_CONFIDENCE_GROUPS
from synesthete.data.labels import LABEL_FIELDS, label_mask
from synesthete.music_state import FIELDS
from synesthete_train.config import OptimConfig
from synesthete_train.hearing import (
    HearingDataSettings,
    HearingEvalConfig,
    HearingLossConfig,
    HearingTrainConfig,
    HearingTrainer,
    beat_frames,
    calibrate_onset_thresholds,
    choose_thresholds,
    correctness,
    hearing_losses,
    next_beat_is_first,
    offbeat_weights,
    tolerant_onset_loss,
)


@pytest.fixture
def hearing_cfg(tmp_path):
    return HearingTrainConfig(
        model=hearing_config("tiny", n_mels=16),
        data=HearingDataSettings(clip_seconds=1.0, num_workers=0),
        optim=OptimConfig(batch_size=2, lr=3e-3, warmup_steps=2),
        eval=HearingEvalConfig(n_seeds=1, clip_seconds=1.0, calibrate_seeds=1),
        max_steps=3, checkpoint_every=0, out=str(tmp_path / "run"), device="cpu", seed=0)


def _onset_loss_firing_on(*frames: int, **kw) -> float:
    """The onset loss of one stem with a hit on frame 4 of 10, the head sure (+-6 logits) that
    there is a hit on `frames` and none elsewhere."""
    hits = torch.zeros(1, 10, 1)
    hits[0, 4, 0] = 1.0
    logits = torch.full((1, 10, 1), -6.0)
    for f in frames:
        logits[0, f, 0] = 6.0
    return float(tolerant_onset_loss(logits, hits, pos_weight=4.0, **kw))


def test_the_onset_loss_puts_the_hit_on_its_frame_and_tolerates_one_frame_late():
    loss_with = _onset_loss_firing_on
    exact = loss_with(4)
    assert exact < 0.01
    assert loss_with(4, 5) == pytest.approx(exact)  # also firing a frame late: tolerated
    assert loss_with(5) > 10 * exact  # only late: the hit itself is missed
    assert loss_with(4, 7) > 10 * exact  # three frames off: a false alarm


def test_the_late_onset_loss_takes_a_hit_on_its_frame_or_the_next():
    def loss_with(*frames: int) -> float:
        return _onset_loss_firing_on(*frames, late=1)

    exact = loss_with(4)
    assert exact < 0.01
    assert loss_with(5) == pytest.approx(exact)  # the next frame meets the hit too ...
    assert loss_with(4, 5) == pytest.approx(exact)
    assert loss_with(6) > 10 * exact  # ... two frames late does not
    assert loss_with(3) > 10 * exact  # nor early: that frame's audio cannot hold the hit
    assert loss_with(4, 7) > 10 * exact  # a false alarm still costs
    with pytest.raises(ValueError, match="onset_late_frames"):
        HearingLossConfig(onset_late_frames=2)


def test_beat_frames_are_the_frames_that_hold_the_scores_beats_and_downbeats():
    from synesthete.audio.engine import render_clip

    for seed in (3, 4):  # a 4/4 and whatever the engine draws next; every beat of 10 s
        score = render_clip(seed, 10.0).score
        n = 10 * FPS
        state = score.music_state(FPS, n)
        target = {k: torch.from_numpy(getattr(state, k))[None] for k in ("beat_phase", "bar_phase", "tempo")}
        beats, downbeats = beat_frames(target, FPS)

        def frames(times):  # frame t covers (t / fps, (t + 1) / fps]
            f = np.ceil(np.asarray(times) * FPS - 1e-9).astype(int) - 1
            return sorted(f[(f >= 1) & (f < n)])

        assert sorted(np.flatnonzero(beats[0].numpy())[1:] if beats[0, 0] else np.flatnonzero(beats[0].numpy())) \
            == frames(score.beat_times)
        got = np.flatnonzero(downbeats[0].numpy())
        assert sorted(got[got >= 1]) == frames(score.downbeat_times)


@pytest.mark.parametrize("beats_per_bar", [4, 3])
def test_the_off_beat_eighths_are_weighted_negatives_of_the_beat_loss(beats_per_bar):
    """loss.beat_offbeat = w: the frames within +-1 of each midpoint between two of the score's
    beats weigh w as negatives, every other negative 1, the beats stay positives; a head that also
    fires there (an onset detector's answer) pays w times more for it; the same for the downbeat
    head's non-downbeat beats (loss.downbeat_offbeat); 0 leaves both losses as they were."""
    from synesthete.audio.engine import render_clip

    score = render_clip(5, 12.0, beats_per_bar=beats_per_bar, drift=0.04).score
    n = 12 * FPS
    state = score.music_state(FPS, n)
    target = {k: torch.from_numpy(getattr(state, k))[None] for k in ("beat_phase", "bar_phase", "tempo")}
    frame = lambda t: int(np.ceil(t * FPS - 1e-9)) - 1  # noqa: E731  frame t covers (t / fps, (t + 1) / fps]
    times = np.asarray(score.beat_times)
    want = np.ones(n)
    for a, b in zip(times[:-1], times[1:]):
        for f in range(frame((a + b) / 2) - 1, frame((a + b) / 2) + 2):
            if 0 <= f < n:
                want[f] = 3.0
    beat_w, down_w = offbeat_weights(target, FPS, 3.0, 0.0)
    assert down_w is None and offbeat_weights(target, FPS, 0.0, 0.0) == (None, None)
    assert (want == 3.0).sum() > 3 * 10  # every off-beat of 12 s
    last = frame(times[-1]) + 1  # the score lists the clip's beats; the off-beat after the last is unlisted
    np.testing.assert_array_equal(beat_w[0, :last, 0].numpy(), want[:last])
    beats, downbeats = beat_frames(target, FPS)
    assert beats[0].numpy()[want == 3.0].sum() == 0  # the beats themselves stay positives

    # a head sure of the beats, and also of the off-beats: only the off-beats cost, w times more
    sure = (beats * 2 - 1) * 12
    also_half = torch.where(torch.from_numpy(want[None] == 3.0), torch.tensor(12.0), sure)
    target = dict(_truth(1, n), **target)
    raw = dict(_perfect_raw(target), beat=also_half)
    off, on = HearingLossConfig(), HearingLossConfig(beat_offbeat=3.0)
    assert float(hearing_losses(dict(raw, beat=sure), target, on)["beat"]) < 1e-3
    assert float(hearing_losses(raw, target, on)["beat"]) > 2.0 * float(hearing_losses(raw, target, off)["beat"])

    # downbeat head: the beats that are not downbeats (+-1 frame) weigh 2
    _, down_w = offbeat_weights(target, FPS, 0.0, 2.0)
    other = (beats - downbeats)[0].numpy()
    assert other.sum() > 5
    got = down_w[0, :, 0].numpy()
    assert (got[other > 0] == 2.0).all() and (got[downbeats[0].numpy() > 0] == 1.0).all()
    assert set(np.unique(got)) == {1.0, 2.0} and (got == 2.0).sum() <= 3 * other.sum()
    with pytest.raises(ValueError, match="beat_offbeat"):
        HearingLossConfig(beat_offbeat=-1.0)


def test_the_beat_warmup_leaves_the_crops_first_seconds_out_of_the_beat_and_downbeat_losses():
    """loss.beat_warmup_s = 2: whatever the beat and downbeat heads say in a crop's first 2 s costs
    nothing (the memory has heard nothing yet); from there on they pay as without it; 0 = every frame."""
    from synesthete.audio.engine import render_clip

    score = render_clip(5, 8.0).score
    n = 8 * FPS
    state = score.music_state(FPS, n)
    target = {k: torch.from_numpy(getattr(state, k))[None] for k in ("beat_phase", "bar_phase", "tempo")}
    beats, downbeats = beat_frames(target, FPS)
    target = dict(_truth(1, n), **target)
    sure = dict(_perfect_raw(target), beat=(beats * 2 - 1) * 12, downbeat=(downbeats * 2 - 1) * 12)
    early, late = torch.zeros(1, n, dtype=torch.bool), torch.zeros(1, n, dtype=torch.bool)
    early[:, : 2 * FPS - 1], late[:, 2 * FPS + 1:] = True, True  # the warm-up's +-1 frame edge left alone
    wrong = lambda where: {h: torch.where(where, -sure[h], sure[h]) for h in ("beat", "downbeat")}  # noqa: E731
    off, on = HearingLossConfig(), HearingLossConfig(beat_warmup_s=2.0)
    for head in ("beat", "downbeat"):
        assert float(hearing_losses(sure, target, on)[head]) < 1e-3
        assert float(hearing_losses(dict(sure, **wrong(early)), target, on)[head]) < 1e-3
        assert float(hearing_losses(dict(sure, **wrong(early)), target, off)[head]) > 1.0
        assert float(hearing_losses(dict(sure, **wrong(late)), target, on)[head]) > 1.0
    # the dense downbeat target too (model.downbeat_head = "next_beat")
    dense = (next_beat_is_first(target, FPS) * 2 - 1) * 12
    for where, cfg, costly in ((early, on, False), (early, off, True), (late, on, True)):
        raw = dict(sure, downbeat=torch.where(where, -dense, dense))
        loss = float(hearing_losses(raw, target, cfg, downbeat_head="next_beat")["downbeat"])
        assert (loss > 1.0) if costly else (loss < 1e-3), (where.sum(), cfg, loss)
    whole = HearingLossConfig(beat_warmup_s=9.0)  # longer than the crop: nothing left to score, no NaN
    assert float(hearing_losses(dict(sure, downbeat=-dense), target, whole, downbeat_head="next_beat")["downbeat"]) == 0.0
    with pytest.raises(ValueError, match="beat_warmup_s"):
        HearingLossConfig(beat_warmup_s=-1.0)


@pytest.mark.parametrize("beats_per_bar", [4, 3])
def test_the_dense_downbeat_target_is_on_from_the_bars_last_beat_to_its_downbeat(beats_per_bar):
    """model.downbeat_head = "next_beat": the frames after the last beat of a bar starts, up to and
    including the next downbeat's frame, and no others, in 3/4 and 4/4, tempo drift included."""
    from synesthete.audio.engine import render_clip

    score = render_clip(5, 12.0, beats_per_bar=beats_per_bar, drift=0.04).score
    n = 12 * FPS
    state = score.music_state(FPS, n)
    target = {k: torch.from_numpy(getattr(state, k))[None] for k in ("beat_phase", "bar_phase", "tempo")}
    got = next_beat_is_first(target, FPS)[0].numpy()
    frame = lambda t: int(np.ceil(t * FPS - 1e-9)) - 1  # noqa: E731
    want = np.zeros(n)
    beats = np.asarray(score.beat_times)
    for db in score.downbeat_times:
        before = beats[beats < db - 1e-6]
        if len(before) and frame(before[-1]) >= 0 and frame(db) < n:
            want[frame(before[-1]) + 1: frame(db) + 1] = 1.0
    first = frame(beats[beats > 0][0]) + 1  # before the clip's first beat the last beat's start is unseen
    assert want[first:].sum() > 2 * FPS * 60 / score.tempo  # several bars
    np.testing.assert_array_equal(got[first:], want[first:])


def test_a_perfect_dense_downbeat_head_scores_nearly_zero():
    target = _truth()
    raw = dict(_perfect_raw(target), downbeat=(next_beat_is_first(target, FPS) * 2 - 1) * 12)
    assert float(hearing_losses(raw, target, HearingLossConfig(), downbeat_head="next_beat")["downbeat"]) < 1e-3
    assert float(hearing_losses(raw, target, HearingLossConfig(), downbeat_head="frame")["downbeat"]) > 1.0


def test_the_focal_onset_loss_turns_to_the_hard_frames():
    hits = torch.zeros(1, 10, 1)
    hits[0, 4, 0] = 1.0
    logits = torch.full((1, 10, 1), -6.0)  # easy negatives everywhere ...
    logits[0, 4, 0] = 6.0  # ... the hit found ...
    logits[0, 8, 0] = 0.0  # ... and one hard frame (a false alarm at p = 0.5)
    plain = float(tolerant_onset_loss(logits, hits, 4.0))
    assert float(tolerant_onset_loss(logits, hits, 4.0, focal=0.0)) == pytest.approx(plain)
    focal = float(tolerant_onset_loss(logits, hits, 4.0, focal=2.0))
    # plain BCE averages the hard frame's ln 2 with the easy ones; focal is nearly all the hard frame
    assert plain < 0.1 < 0.6 < focal < math.log(2.0)
    logits[0, 8, 0] = -6.0  # every frame easy: both small
    assert float(tolerant_onset_loss(logits, hits, 4.0, focal=2.0)) < 0.01


def _truth(b: int = 2, t: int = 6) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    target = {}
    for f in FIELDS[1:]:
        shape = (b, t) if f.columns is None else (b, t, len(f.columns))
        target[f.name] = torch.rand(shape, generator=g)
    target["onset"] = (target["onset"] > 0.8).float()
    target["chord_root"] = torch.randint(0, 12, (b, t), generator=g).float()
    target["chord_quality"] = torch.randint(0, 4, (b, t), generator=g).float()
    target["tempo"] = torch.full((b, t), 128.0)
    return target


def _perfect_raw(target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The raw outputs a model that hears the score exactly would give (logits of the targets)."""
    logit = lambda x: torch.logit(x.clamp(1e-4, 1 - 1e-4))  # noqa: E731
    beats, downbeats = beat_frames(target, FPS)
    return {"env": logit(target["env"]), "onset": (target["onset"] * 2 - 1) * 12, "beat": (beats * 2 - 1) * 12,
            "downbeat": (downbeats * 2 - 1) * 12, "tempo": torch.log(target["tempo"] / 120.0),
            "chord_root": torch.nn.functional.one_hot(target["chord_root"].long(), 12).float() * 20,
            "chord_quality": torch.nn.functional.one_hot(target["chord_quality"].long(), 4).float() * 20,
            "energy": logit(target["energy"]), "melody": logit(target["melody"]), "bass": logit(target["bass"]),
            "confidence": torch.full(target["env"].shape[:2] + (len(HEAD_CONFIDENCE_GROUPS),), 12.0)}


def test_a_model_that_hears_the_score_exactly_scores_nearly_zero_and_is_right_everywhere():
    target = _truth()
    raw = _perfect_raw(target)
    assert torch.equal(correctness(raw, target), torch.ones(2, 6, len(HEAD_CONFIDENCE_GROUPS)))
    losses = hearing_losses(raw, target, HearingLossConfig())
    assert set(losses) == {"onset", "env", "beat", "downbeat", "tempo", "chord_root", "chord_quality", "energy",
                           "melody", "bass", "confidence", "total"}
    assert all(float(v) < 1e-3 for v in losses.values()), {k: float(v) for k, v in losses.items()}
    wrong = dict(raw, chord_root=raw["chord_root"].roll(1, dims=-1))
    assert correctness(wrong, target)[..., HEAD_CONFIDENCE_GROUPS.index("chord")].max() == 0
    assert hearing_losses(wrong, target, HearingLossConfig())["chord_root"] > 1.0


def test_every_head_gets_a_gradient_from_its_loss():
    model = HearingModel(hearing_config("tiny", n_mels=16))
    target = _truth(2, 5)
    raw = model(torch.randn(2, 5, model.cfg.n_features))
    hearing_losses(raw, target, HearingLossConfig())["total"].backward()
    rows = model.heads.weight.grad.abs().sum(dim=1)  # one row per raw output column
    assert (rows > 0).all()


def test_a_short_real_run_lowers_the_loss(hearing_cfg):
    trainer = HearingTrainer(replace(hearing_cfg, max_steps=40), progress=False)
    batch = next(iter(trainer.loader()))
    assert batch["features"].shape == (2, 60, trainer.model.cfg.n_features)
    losses = [trainer.train_step(batch)["total"] for _ in range(40)]
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5


def test_fit_writes_a_hearing_checkpoint_with_its_figures(hearing_cfg):
    result = HearingTrainer(hearing_cfg, progress=False).fit()
    ckpt = Path(result["checkpoint"])
    assert result["step"] == 3 and ckpt.is_file()
    assert 0 <= result["eval/beat_phase_ok"] <= 1 and 0 <= result["eval/chord_root_acc"] <= 1
    data = load_checkpoint(ckpt)
    assert data["kind"] == "hearing" and data["extra"]["eval/chord_root_acc"] == result["eval/chord_root_acc"]
    model = load_model(ckpt)
    assert isinstance(model, HearingModel)
    # calibrated at the end (a 1 s song plays nothing after 4 s: every stem keeps the default)
    assert model.cfg.onset_thresholds == (0.3,) * len(STEMS)


class _Curves(torch.nn.Module):
    """A hearing model whose onset heads give set curves, one per call in turn: the calibration's
    input, known."""

    def __init__(self, inner: HearingModel, onset_p: list[torch.Tensor]) -> None:
        super().__init__()
        self.inner, self.cfg, self.tracker, self.curves = inner, inner.cfg, inner.tracker, list(onset_p)
        self.progression = inner.progression

    def forward(self, features):
        raw = self.inner(features)
        logits = torch.logit(self.curves.pop(0))
        raw["onset"] = logits[None, : features.shape[1]].expand_as(raw["onset"]).clone()
        return raw


def test_calibration_moves_a_threshold_only_where_it_surely_pays():
    model = HearingModel(hearing_config("tiny", n_mels=16))
    fps, n = model.cfg.fps, 10 * model.cfg.fps
    kick, snare = STEMS.index("kick"), STEMS.index("snare")
    hits = np.arange(5 * fps, n - fps // 2, fps // 2)  # a kick and a snare every half second after 5 s
    p = torch.full((n, len(STEMS)), 0.01)
    p[hits, kick] = 0.45  # the kick head is unsure of every real kick ...
    p[hits + fps // 4, kick] = 0.32  # ... and a little less sure of a decoy between each two
    p[hits, snare] = 0.9  # the snare head: sure of its hits, its one decoy barely above the default
    truth = score_events(np.zeros(0), np.zeros(0), {"kick": ((hits + 1) / fps, np.ones(len(hits))),
                                                    "snare": ((hits + 1) / fps, np.ones(len(hits)))})
    songs = []
    for k in range(3):  # a little noise between the songs: one more snare decoy in one of them
        q = p.clone()
        if k == 0:
            q[hits[2] + fps // 4, snare] = 0.33
        songs.append(HearingItem(f"song {k}", np.zeros(n * model.cfg.sample_rate // fps, np.float32), truth, None))
        songs[-1].curves = q
    thresholds, mean_f = calibrate_onset_thresholds(_Curves(model, [s.curves for s in songs]), [songs],
                                                    torch.device("cpu"))
    assert 0.32 < thresholds[kick] <= 0.45 and mean_f["kick"] == pytest.approx(1.0)  # every song: F 0.67 -> 1
    assert thresholds[snare] == 0.3  # one song of three gains: not sure, the default stays
    assert thresholds[STEMS.index("bass")] == 0.3 and "bass" not in mean_f  # not played: the default


def test_the_calibration_script_stores_thresholds_in_a_checkpoint_and_says_what_moved(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "h.pt"
    save_checkpoint(path, HearingModel(hearing_config("tiny", n_mels=16)), train_state={"step": 3})
    script = Path(__file__).parents[2] / "scripts" / "calibrate_onsets.py"
    run = lambda *a: subprocess.run([sys.executable, str(script), *map(str, a)], capture_output=True, text=True)  # noqa: E731
    done = run(path, "--songs", 2, "--mma-songs", 2, "--mma-pool", tmp_path / "calib", "--out", tmp_path / "o.pt")
    assert done.returncode == 0 and "onset thresholds on 2 validation songs and" in done.stdout, done.stderr
    assert "building 2 MMA songs" in done.stderr and (tmp_path / "calib" / "index.json").is_file()
    assert "kick - -> " in done.stdout  # it had none before
    thresholds = load_model(tmp_path / "o.pt").cfg.onset_thresholds
    assert len(thresholds) == len(STEMS) and all(0 < t < 1 for t in thresholds)
    assert load_model(path).cfg.onset_thresholds == ()  # --out leaves the source alone
    for bad, says in (((path, "--songs", 1), "--songs must be >= 2"), ((path, "--mma-songs", -1), "--mma-songs must be"),
                      ((tmp_path / "none.pt", "--songs", 2, "--mma-songs", 0), "none.pt"),
                      ((path, "--songs", 2, "--out", tmp_path / "no" / "o.pt"), "does not exist")):
        failed = run(*bad)
        assert failed.returncode != 0 and failed.stderr.count("\n") == 1 and says in failed.stderr, failed.stderr


def test_a_threshold_moves_only_where_it_surely_gains_on_every_kind_of_music():
    grid, default = (0.2, 0.3, 0.4, 0.5), 0.3
    rng = np.random.default_rng(0)

    def songs(f_at: tuple[float, ...], n: int = 24) -> np.ndarray:  # (songs, grid, stems): F per threshold + noise
        f = np.full((n, len(grid), len(STEMS)), np.nan)
        f[:, :, 0] = np.asarray(f_at) + rng.normal(0, 0.01, (n, len(grid)))  # the kick
        f[:, :, 1] = np.asarray(f_at) + rng.normal(0, 0.01, (n, len(grid)))  # the snare
        return f

    engine = songs((0.50, 0.55, 0.60, 0.65))  # the engine's songs: higher is better for both stems
    human = songs((0.60, 0.62, 0.63, 0.56))  # human music: 0.4 gains a little, 0.5 loses
    human[:, :, 1] = engine[:, :, 1]  # ... but its snare agrees with the engine's
    (kick, snare, *rest), f = choose_thresholds([engine, human], grid, default)
    assert kick == 0.4 and snare == 0.5  # the best threshold that gains on both sets
    assert f["kick"] == pytest.approx((0.60 + 0.63) / 2, abs=0.01)
    alone, _ = choose_thresholds([engine], grid, default)
    assert alone[:2] == (0.5, 0.5)  # the engine's songs alone would take the kick where human music loses
    lost = human.copy()
    lost[:, :, 0] = songs((0.60, 0.62, 0.60, 0.56))[:, :, 0]  # no threshold gains on human music's kick
    assert choose_thresholds([engine, lost], grid, default)[0][0] == default
    one = human[:1]  # one song has no say: the engine's songs decide
    assert choose_thresholds([engine, one], grid, default)[0][:2] == (0.5, 0.5)
    assert rest == [default] * (len(STEMS) - 2)  # stems no set plays keep the default


def test_resume_continues_exactly_where_training_stopped(hearing_cfg, tmp_path):
    straight = HearingTrainer(replace(hearing_cfg, max_steps=4, out=str(tmp_path / "a"),
                                      eval=replace(hearing_cfg.eval, n_seeds=0)), progress=False)
    straight.fit()
    first = HearingTrainer(replace(hearing_cfg, max_steps=2, out=str(tmp_path / "b"),
                                   eval=replace(hearing_cfg.eval, n_seeds=0)), progress=False)
    first.fit()
    resumed = HearingTrainer(replace(hearing_cfg, max_steps=4, out=str(tmp_path / "b")),
                             resume=tmp_path / "b" / "last.pt", progress=False)
    assert resumed.step == 2
    resumed.fit()
    for (name, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=f"parameter {name} differs after resume")


def test_each_rendered_batch_trains_reuse_steps_on_random_crops(hearing_cfg):
    cfg = replace(hearing_cfg, data=replace(hearing_cfg.data, reuse=3, crop_seconds=0.5))
    trainer = HearingTrainer(cfg, progress=False)
    stream = trainer.loader()
    batches = [next(stream) for _ in range(4)]
    assert all(b["features"].shape[1] == 30 and b["state.onset"].shape[1] == 30 for b in batches)
    assert [int(b["index"][0]) for b in batches] == [0, 0, 0, 2]  # 3 crops of items 0-1, then items 2-3
    # resuming after step 2 continues with the last crop of the first batch
    trainer.step = 2
    assert int(next(trainer.loader())["index"][0]) == 0
    trainer.step = 3
    assert int(next(trainer.loader())["index"][0]) == 2


def test_masked_hits_are_neither_targets_nor_negatives():
    ignore = torch.zeros(1, 10, 1)
    ignore[0, 4, 0] = 1.0  # the hit on frame 4 is masked
    assert _onset_loss_firing_on() > 1.0  # unmasked, missing the hit costs
    assert _onset_loss_firing_on(ignore=ignore) < 0.01  # masked: nothing to find ...
    assert _onset_loss_firing_on(5, ignore=ignore) < 0.01  # ... and firing a frame after it is no false alarm
    assert _onset_loss_firing_on(8, ignore=ignore) > 0.5  # far from it, a false alarm still costs


def test_training_with_the_onset_mask_crops_it_with_the_state(hearing_cfg):
    cfg = replace(hearing_cfg, data=replace(hearing_cfg.data, reuse=2, crop_seconds=0.5, onset_mask=True))
    trainer = HearingTrainer(cfg, progress=False)
    batch = next(trainer.loader())
    assert batch["onset_ignore"].shape == batch["state.onset"].shape == (2, 30, len(STEMS))
    assert math.isfinite(trainer.train_step(batch)["total"])


def test_the_shifted_onset_target_is_the_frame_after_the_hit():
    target = _truth(1, 8)
    target["onset"] = torch.zeros_like(target["onset"])
    target["onset"][0, 3, 0] = 0.8  # a kick in frame 3
    raw = _perfect_raw(target)

    def onset_loss(frame: int, shift: int) -> float:
        logits = torch.full_like(raw["onset"], -12.0)
        logits[0, frame, 0] = 12.0
        return float(hearing_losses({**raw, "onset": logits}, target, HearingLossConfig(onset_shift=shift))["onset"])

    assert onset_loss(3, shift=0) < 1e-3 and onset_loss(4, shift=1) < 1e-3  # the target: the hit's frame / the next
    assert onset_loss(4, shift=0) > 0.5 and onset_loss(3, shift=1) > 0.5  # the other alone misses it
    with pytest.raises(ValueError, match="onset_shift"):
        HearingLossConfig(onset_shift=2)


@pytest.mark.parametrize("lag", [1, 2])
def test_with_beat_lag_the_beat_and_downbeat_targets_are_lag_frames_after_the_beat(lag):
    """HearingConfig.beat_lag: the heads are trained to say a beat `lag` frames after the score's
    beat frame (the tracker expects it there), and the off-beat weights move with them."""
    fps, n = 60, 240
    target = {"tempo": torch.full((1, n), 120.0)}  # a beat every 30 frames, a bar of 4 beats
    phase = (torch.arange(n, dtype=torch.float32) + 1.0) / 30.0
    target["beat_phase"], target["bar_phase"] = (phase % 1.0)[None], ((phase / 4.0) % 1.0)[None]
    beats, downbeats = beat_frames(target, fps)
    b_frames, d_frames = torch.nonzero(beats[0]).flatten(), torch.nonzero(downbeats[0]).flatten()
    assert len(b_frames) >= 7 and len(d_frames) >= 2

    def heads_on(frames: torch.Tensor) -> torch.Tensor:
        logits = torch.full((1, n), -12.0)
        logits[0, frames[frames < n]] = 12.0
        return logits

    w = HearingLossConfig(beat_offbeat=2.0)
    for shift, expect_right in ((lag, True), (0, False)):
        raw = {"beat": heads_on(b_frames + shift), "downbeat": heads_on(d_frames + shift)}
        beat_loss, down_loss = (_beat_losses(raw, target, w, fps, lag))
        assert (beat_loss < 1e-3) == expect_right and (down_loss < 1e-3) == expect_right, (shift, beat_loss, down_loss)


def test_with_beat_late_frames_the_beat_heads_may_fire_on_the_beats_frame_or_the_next():
    """loss.beat_late_frames = 1: the beat and downbeat heads' positive is met on the beat's frame or
    the one after it (0: only on its own frame); two frames late, or early, still misses it."""
    fps, n = 60, 250  # the last beat 10 frames before the end: a frame late still fits in
    target = {"tempo": torch.full((1, n), 120.0)}  # a beat every 30 frames, a bar of 4 beats
    phase = (torch.arange(n, dtype=torch.float32) + 1.0) / 30.0
    target["beat_phase"], target["bar_phase"] = (phase % 1.0)[None], ((phase / 4.0) % 1.0)[None]
    beats, downbeats = beat_frames(target, fps)
    b_frames, d_frames = torch.nonzero(beats[0]).flatten(), torch.nonzero(downbeats[0]).flatten()

    def heads_on(frames: torch.Tensor) -> torch.Tensor:
        logits = torch.full((1, n), -12.0)
        logits[0, frames[(frames >= 0) & (frames < n)]] = 12.0
        return logits

    late, exact = HearingLossConfig(beat_late_frames=1), HearingLossConfig()
    for shift, met_late, met_exact in ((0, True, True), (1, True, False), (2, False, False), (-1, False, False)):
        raw = {"beat": heads_on(b_frames + shift), "downbeat": heads_on(d_frames + shift)}
        for w, met in ((late, met_late), (exact, met_exact)):
            beat_loss, down_loss = _beat_losses(raw, target, w, fps, 0)
            assert (beat_loss < 1e-3) == met and (down_loss < 1e-3) == met, (shift, w.beat_late_frames, beat_loss)
    with pytest.raises(ValueError, match="beat_late_frames"):
        HearingLossConfig(beat_late_frames=2)


def _beat_losses(raw, target, w, fps, lag) -> tuple[float, float]:
    full = _truth(1, target["tempo"].shape[1])
    full.update(target)
    perfect = _perfect_raw(full)
    losses = hearing_losses({**perfect, **raw}, full, w, fps, beat_lag=lag)
    return float(losses["beat"]), float(losses["downbeat"])


def test_the_stem_share_loss_is_zero_where_the_head_names_each_share_and_weighs_by_loudness():
    g = torch.Generator().manual_seed(1)
    share = torch.softmax(torch.randn(2, 6, 4, len(STEMS), generator=g) * 3, dim=-1)
    weight = torch.rand(2, 6, 4, generator=g)
    exact = hearing_losses_with_shares(torch.log(share), share, weight)
    assert exact < 1e-5
    wrong = hearing_losses_with_shares(torch.log(share).roll(1, dims=-1), share, weight)
    assert wrong > 0.1
    quiet = weight.clone()
    quiet[:, :3] = 0.0  # only the last three frames count: a head wrong on the first three alone costs nothing
    mixed = torch.cat([torch.log(share).roll(1, dims=-1)[:, :3], torch.log(share)[:, 3:]], dim=1)
    assert hearing_losses_with_shares(mixed, share, quiet) < 1e-5
    assert hearing_losses_with_shares(mixed, share, weight) > 0.01


def hearing_losses_with_shares(logits: torch.Tensor, share: torch.Tensor, weight: torch.Tensor) -> float:
    target = _truth(*share.shape[:2])
    raw = {**_perfect_raw(target), "stem_share": logits}
    losses = hearing_losses(raw, target, HearingLossConfig(), stem_share=(share, weight))
    assert float(losses["total"] - losses["stem_share"]) < 1e-3  # the other heads are perfect
    return float(losses["stem_share"])


def test_the_phase_loss_is_zero_where_the_head_names_both_phases_and_skips_clips_that_know_no_beat():
    target = _truth()
    beat, bar = target["beat_phase"] * 2 * math.pi, target["bar_phase"] * 2 * math.pi
    exact = torch.stack([beat.sin(), beat.cos(), bar.sin(), bar.cos()], -1)
    losses = hearing_losses({**_perfect_raw(target), "phase": exact}, target, HearingLossConfig())
    assert float(losses["phase"]) < 1e-6 and float(losses["total"]) < 1e-3
    # the off-beat's answer: half a beat out costs 4 a frame on the beat's pair alone
    half = exact.clone()
    half[..., :2] = -half[..., :2]
    assert float(hearing_losses({**_perfect_raw(target), "phase": half}, target,
                                HearingLossConfig())["phase"]) == pytest.approx(4.0, rel=1e-5)
    # a clip that knows no beat or bar (a MIDI crop without them) is left out of its pair
    known = torch.from_numpy(np.stack([label_mask(f.name for f in LABEL_FIELDS),
                                       label_mask(f.name for f in LABEL_FIELDS if f.name not in ("beat_phase", "bar_phase"))]))
    wrong_second = exact.clone()
    wrong_second[1] = -wrong_second[1]
    masked = hearing_losses({**_perfect_raw(target), "phase": wrong_second}, target, HearingLossConfig(), label_mask=known)
    assert float(masked["phase"]) < 1e-6
    weightless = hearing_losses({**_perfect_raw(target), "phase": half}, target, HearingLossConfig(phase=0.0))
    assert float(weightless["phase"]) > 1.0 and float(weightless["total"]) < 1e-3


def test_phase_midi_weighs_the_midi_crops_phase_error_in_a_weighted_mean():
    target = _truth()
    beat, bar = target["beat_phase"] * 2 * math.pi, target["bar_phase"] * 2 * math.pi
    exact = torch.stack([beat.sin(), beat.cos(), bar.sin(), bar.cos()], -1)
    midi_wrong = exact.clone()
    midi_wrong[1, :, :2] = -midi_wrong[1, :, :2]  # the second clip's beat half a beat out: 4 a frame
    # clip 0 procedural (knows every field), clip 1 a MIDI crop (no chords, energy or melody)
    known = torch.from_numpy(np.stack([label_mask(f.name for f in LABEL_FIELDS),
                                       label_mask(f.name for f in LABEL_FIELDS
                                                  if f.name not in ("chord_root", "chord_quality", "energy", "melody"))]))
    raw = {**_perfect_raw(target), "phase": midi_wrong}
    alike = hearing_losses(raw, target, HearingLossConfig(), label_mask=known)["phase"]
    assert float(alike) == pytest.approx(2.0, rel=1e-5)  # (0 + 4) / 2
    weighed = hearing_losses(raw, target, HearingLossConfig(phase_midi=3.0), label_mask=known)["phase"]
    assert float(weighed) == pytest.approx(3.0, rel=1e-5)  # (1 x 0 + 3 x 4) / (1 + 3)
    # a batch of procedural clips alone is unchanged
    every = torch.from_numpy(np.stack([label_mask(f.name for f in LABEL_FIELDS)] * 2))
    assert float(hearing_losses(raw, target, HearingLossConfig(phase_midi=3.0), label_mask=every)["phase"]) == \
        pytest.approx(2.0, rel=1e-5)


def test_training_with_the_phase_head_teaches_the_memory(hearing_cfg):
    cfg = replace(hearing_cfg, model=replace(hearing_cfg.model, phase_head=True),
                  data=replace(hearing_cfg.data, reuse=2, crop_seconds=0.5, midi_share=0.0))
    trainer = HearingTrainer(cfg, progress=False)
    losses = trainer.train_step(next(trainer.loader()))
    assert math.isfinite(losses["phase"]) and losses["phase"] > 0
    assert trainer.model.phase.weight.grad is not None and trainer.model.phase.weight.grad.abs().sum() > 0
    # the gradient reaches the memory through the phase head alone, too
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.model.bridge.parameters())


def test_a_model_with_a_stem_share_head_needs_its_target():
    target = _truth()
    raw = {**_perfect_raw(target), "stem_share": torch.zeros(2, 6, 4, len(STEMS))}
    with pytest.raises(ValueError, match="stem_share"):
        hearing_losses(raw, target, HearingLossConfig())


def test_training_with_the_stem_share_head_crops_its_target_with_the_state(hearing_cfg):
    cfg = replace(hearing_cfg, model=replace(hearing_cfg.model, stem_share_bands=4),
                  data=replace(hearing_cfg.data, reuse=2, crop_seconds=0.5, midi_share=0.0))
    trainer = HearingTrainer(cfg, progress=False)
    batch = next(trainer.loader())
    assert batch["stem_share"].shape == (2, 30, 4, len(STEMS)) and batch["stem_weight"].shape == (2, 30, 4)
    losses = trainer.train_step(batch)
    assert math.isfinite(losses["stem_share"]) and losses["stem_share"] > 0
    assert trainer.model.stem_share.weight.grad is not None and trainer.model.stem_share.weight.grad.abs().sum() > 0
