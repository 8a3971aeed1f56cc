"""The numpy one-frame step (synesthete.model.cpu_step): the torch step's outputs to float32
rounding for every architecture it takes, states the torch step reads, rebuilt when weights change,
and never used where torch must run (batch > 1, training, gradients, another architecture)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from synesthete.checkpoint import load_model
from synesthete.model import HearingModel, build_hearing_model, hearing_config
from synesthete.model.cpu_step import CpuStep
from synesthete.registry import available

# (skip, harmony_hidden, harmony_context, bridge layers, encoder kernel, the memories' cell): every branch of CpuStep
SHAPES = [(True, 8, True, 1, 4, "gru"), (False, 8, False, 2, 4, "gru"), (True, 0, False, 1, 1, "gru"),
          (False, 8, True, 1, 2, "gru"), (True, 8, True, 2, 4, "mingru"), (False, 0, False, 1, 4, "mingru")]
CPU_ENCODERS = ("conv", "spectral", "tcn")  # the encoders the numpy step runs


def hearing(skip=True, harmony_hidden=8, harmony_context=False, layers=1, kernel=4, cell="gru", **names) -> HearingModel:
    torch.manual_seed(0)
    cfg = hearing_config("tiny", n_mels=16, skip=skip, harmony_hidden=harmony_hidden, harmony_context=harmony_context,
                         harmony_cell=cell,
                         encoder={"name": names.get("encoder", "conv"), "kernel": kernel},
                         bridge={"name": names.get("bridge", cell), "layers": layers})
    return build_hearing_model(cfg).eval()


def frames(model: HearingModel, n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 1, model.cfg.n_features, generator=torch.Generator().manual_seed(seed))  # (T, 1, F)


def raw_heads(model: HearingModel, feats: torch.Tensor, numpy_every: int | None) -> tuple[list[torch.Tensor], int]:
    """The head layer's outputs frame by frame at batch 1: the numpy step on every `numpy_every`-th
    frame (None: never), torch's network (`_network_chunk`, what step_chunk runs without it) on the
    others; and how often numpy ran."""
    outs, used, state = [], 0, model.init_state(1, "cpu")
    with torch.inference_mode():
        for t in range(feats.shape[0]):
            x = feats[t][:, None]  # (1, 1, F)
            if numpy_every is not None and t % numpy_every == 0:
                assert model._cpu_step(x) is not None
                y, new = model._cpu_step(x)(x[0, 0].numpy(), state)
                y, used = torch.from_numpy(y), used + 1
            else:
                y, new = model._network_chunk(x, state)
                y = y[0, 0]
            state = {**state, **new}
            outs.append(y)
    return outs, used


@pytest.mark.parametrize("encoder", CPU_ENCODERS)
@pytest.mark.parametrize("shape", SHAPES, ids=[f"skip{s}-harm{h}-ctx{c}-L{n}-k{k}-{m}" for s, h, c, n, k, m in SHAPES])
def test_the_numpy_step_equals_torch_and_shares_its_state(shape, encoder):
    model = hearing(*shape, encoder=encoder)
    feats = frames(model, 40)
    all_torch, used = raw_heads(model, feats, numpy_every=None)
    assert used == 0
    all_numpy, used = raw_heads(model, feats, numpy_every=1)
    mixed, _ = raw_heads(model, feats, numpy_every=3)  # the state passes between the two paths
    assert used == 40
    torch.testing.assert_close(torch.stack(all_numpy), torch.stack(all_torch), atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(torch.stack(mixed), torch.stack(all_torch), atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("encoder", CPU_ENCODERS)
@pytest.mark.parametrize("shape", SHAPES[:2], ids=["skip-harmony-context", "two-layers"])
def test_stepping_at_batch_1_equals_the_whole_clip(shape, encoder):
    model = hearing(*shape, encoder=encoder)
    feats = frames(model, 30).transpose(0, 1)  # (1, T, F)
    with torch.inference_mode():
        whole = model.fields(feats)
        state, per_frame = model.init_state(1, "cpu"), []
        for t in range(feats.shape[1]):
            f, state = model.step(feats[:, t], state)
            per_frame.append(f)
    assert model._cpu_step_cache is not None and model._cpu_step_cache[1] is not None  # numpy ran
    for key in ("env", "onset", "energy", "confidence", "tempo"):
        streamed = torch.stack([f[key] for f in per_frame], dim=1)
        torch.testing.assert_close(streamed, whole[key], atol=1e-4, rtol=1e-4, msg=key)


def _agrees_with_torch(model: HearingModel, x: torch.Tensor) -> None:
    with torch.inference_mode():
        state = model.init_state(1, "cpu")
        y, _ = model._cpu_step(x)(x[0, 0].numpy(), state)
        ref, _ = model._network_chunk(x, state)
    np.testing.assert_allclose(y, ref[0, 0].numpy(), atol=2e-5, rtol=1e-4)


def test_weights_changed_in_place_or_replaced_reach_the_numpy_step():
    model = hearing()
    x = frames(model, 1)[0][:, None]  # (1, 1, F)
    with torch.inference_mode():
        first = model._cpu_step(x)
    with torch.no_grad():  # what an optimiser step, a weight average or load_state_dict does: in place
        model.heads.bias.add_(1.0)
        model.encoder.conv.weight.mul_(1.5)
        model.bridge.rnn.weight_hh_l0.mul_(0.5)
    with torch.inference_mode():
        assert model._cpu_step(x) is first  # it reads the parameters' memory: no rebuild
    _agrees_with_torch(model, x)
    model.heads.weight = torch.nn.Parameter(model.heads.weight.detach() * 2.0)  # another tensor
    with torch.inference_mode():
        assert model._cpu_step(x) is not first
    _agrees_with_torch(model, x)


def test_a_model_loaded_under_inference_mode_steps():
    """Its parameters are inference tensors, which have no version counter to watch."""
    with torch.inference_mode():
        model = load_model(None)
        state = model.init_state(1, "cpu")
        x = frames(model, 3)
        for t in range(3):
            fields, state = model.step(x[t], state)
        assert model._cpu_step(x[0][:, None]) is not None
    assert torch.isfinite(fields["tempo"]).all()
    _agrees_with_torch(model, x[0][:, None])


def test_torch_runs_where_numpy_must_not():
    model = hearing()
    x = frames(model, 2)
    with torch.inference_mode():
        assert model._cpu_step(x[0][:, None]) is not None
        assert model._cpu_step(x.transpose(0, 1)) is None  # two frames: a chunk
        assert model._cpu_step(x[0].expand(2, -1)[:, None]) is None  # batch 2
        assert model._cpu_step(x[0][:, None].double()) is None
    with torch.enable_grad():
        assert model._cpu_step(x[0][:, None]) is None  # someone wants gradients
    model.train()
    with torch.inference_mode():
        assert model._cpu_step(x[0][:, None]) is None


@pytest.mark.parametrize("encoder,bridge", [c for c in itertools.product(available("encoder"), available("bridge"))
                                            if c[0] not in CPU_ENCODERS or c[1] not in ("gru", "mingru")])
def test_other_architectures_keep_the_torch_step(encoder, bridge):
    assert CpuStep.of(hearing(encoder=encoder, bridge=bridge)) is None


def test_heads_that_read_raw_frames_keep_the_torch_step():
    torch.manual_seed(0)
    model = build_hearing_model(hearing_config("tiny", n_mels=16, head_frames=3)).eval()
    assert CpuStep.of(model) is None


def test_the_shipped_model_hears_the_same_through_numpy():
    model = load_model(None)
    feats = frames(model, 300, seed=1) * 0.5
    all_torch, _ = raw_heads(model, feats, numpy_every=None)
    all_numpy, used = raw_heads(model, feats, numpy_every=1)
    assert used == 300
    torch.testing.assert_close(torch.stack(all_numpy), torch.stack(all_torch), atol=1e-4, rtol=1e-4)
