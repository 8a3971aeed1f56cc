"""The streaming contract, for every registered (encoder, bridge, decoder) combination:
`step` frame by frame reproduces `forward` on the whole clip (timm's test_model_forward style:
a component is covered the moment it registers)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from synesthete.model import build_model
from synesthete.registry import available

from model_testkit import all_combinations, clip_inputs, tiny_config, tiny_model

COMBOS = all_combinations()


def run_steps(model, features, controls, size=None) -> torch.Tensor:
    state = model.init_state(features.shape[0], features.device)
    frames = []
    for t in range(features.shape[1]):
        frame, state = model.step(features[:, t], controls[:, t], state, size=size)
        frames.append(frame)
    return torch.stack(frames, dim=1)  # (B, T, 3, H, W)


def test_every_kind_has_the_promised_components():
    names = {kind: sorted({c[i] for c in COMBOS}) for i, kind in enumerate(("encoder", "bridge", "decoder"))}
    assert {"conv", "transformer"} <= set(names["encoder"])
    assert {"gru", "lstm", "transformer", "none"} <= set(names["bridge"])
    assert {"conv", "implicit"} <= set(names["decoder"])


@pytest.mark.parametrize("encoder,bridge,decoder", COMBOS, ids=["-".join(c) for c in COMBOS])
def test_step_equals_forward(encoder, bridge, decoder):
    torch.manual_seed(0)
    cfg = tiny_config(encoder, bridge, decoder)
    model = build_model(cfg).eval()
    # 9 frames: more than the tiny transformer bridge's 4-frame context, so the rolling cache wraps.
    features, controls = clip_inputs(cfg, batch=2, frames=9)
    with torch.no_grad():
        whole = model(features, controls)
        streamed = run_steps(model, features, controls)
    assert whole.shape == (2, 9, 3, cfg.height, cfg.width)
    assert whole.min() >= 0 and whole.max() <= 1
    torch.testing.assert_close(streamed, whole, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("encoder,bridge,decoder", COMBOS, ids=["-".join(c) for c in COMBOS])
def test_trains_end_to_end(encoder, bridge, decoder):
    """Gradients reach every component through forward (frames and aux heads)."""
    torch.manual_seed(0)
    cfg = tiny_config(encoder, bridge, decoder)
    model = build_model(cfg).train()
    features, controls = clip_inputs(cfg, batch=2, frames=5)
    frames, aux = model(features, controls, return_aux=True)
    loss = frames.mean() + aux["beat"].square().mean() + aux["onset"].mean()
    loss.backward()
    for part in (model.encoder, model.bridge, model.decoder, model.heads):
        grads = [p.grad for p in part.parameters() if p.requires_grad]
        assert grads and any(g is not None and g.abs().sum() > 0 for g in grads), type(part).__name__


@pytest.mark.parametrize("decoder", available("decoder"))  # every registered decoder
def test_step_equals_forward_at_another_size(decoder):
    torch.manual_seed(0)
    cfg = tiny_config(decoder=decoder)
    model = build_model(cfg).eval()
    features, controls = clip_inputs(cfg, batch=1, frames=4)
    with torch.no_grad():
        whole = model(features, controls, size=(20, 12))
        streamed = run_steps(model, features, controls, size=(20, 12))
    assert whole.shape == (1, 4, 3, 20, 12)
    torch.testing.assert_close(streamed, whole, atol=1e-5, rtol=1e-4)


def test_implicit_decoder_renders_natively_at_any_size():
    """Coordinate decoding: a 2x render subsampled at pixel-centre-aligned points is not a blur of
    the native frame, but both are drawn from the same continuous picture (close on average)."""
    torch.manual_seed(0)
    cfg = tiny_config(decoder="implicit")
    model = build_model(cfg).eval()
    features, controls = clip_inputs(cfg, batch=1, frames=2)
    with torch.no_grad():
        native = model(features, controls)  # (1, 2, 3, 16, 16)
        big = model(features, controls, size=(64, 64))  # (1, 2, 3, 64, 64)
    down = torch.nn.functional.avg_pool2d(big.flatten(0, 1), 4).view_as(native)
    assert (down - native).abs().mean() < 0.05
    assert big.shape[-2:] == (64, 64)


def test_state_is_passed_not_kept():
    """Two interleaved streams through one model give the same frames as each stream alone."""
    model = tiny_model()
    cfg = model.cfg
    fa, ca = clip_inputs(cfg, batch=1, frames=5, seed=1)
    fb, cb = clip_inputs(cfg, batch=1, frames=5, seed=2)
    with torch.no_grad():
        alone_a = run_steps(model, fa, ca)
        sa, sb = model.init_state(1, "cpu"), model.init_state(1, "cpu")
        inter = []
        for t in range(5):
            fr, sa = model.step(fa[:, t], ca[:, t], sa)
            _, sb = model.step(fb[:, t], cb[:, t], sb)
            inter.append(fr)
    torch.testing.assert_close(torch.stack(inter, 1), alone_a)


def test_palette_decoder_streams_like_forward_at_any_size():
    torch.manual_seed(0)
    base = tiny_config()
    cfg = dataclasses.replace(base, decoder=dataclasses.replace(base.decoder, palette=3))
    model = build_model(cfg).eval()
    torch.nn.init.normal_(model.decoder.colours.weight, std=0.1)  # a palette that moves with the latent
    features, controls = clip_inputs(cfg, batch=2, frames=6)
    with torch.no_grad():
        for size in (None, (20, 12)):
            whole = model(features, controls, size=size)
            torch.testing.assert_close(run_steps(model, features, controls, size=size), whole, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("encoder,bridge", [("conv", "gru"), ("transformer", "transformer")])
def test_harmony_path_streams_like_forward(encoder, bridge):
    torch.manual_seed(0)
    cfg = tiny_config(encoder, bridge, n_chroma=24, harmony_hidden=8, chord_head=True)
    model = build_model(cfg).eval()
    torch.nn.init.normal_(model.harmony.to_latent.weight, std=0.3)  # it starts silent: make it speak
    features, controls = clip_inputs(cfg, batch=2, frames=9)
    with torch.no_grad():
        whole = model(features, controls)
        streamed = run_steps(model, features, controls)
    torch.testing.assert_close(streamed, whole, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("encoder,bridge", [("conv", "gru"), ("transformer", "transformer"), ("conv", "none")])
def test_bar_path_streams_like_forward(encoder, bridge):
    torch.manual_seed(0)  # with the harmony path too: both offsets reach the same latent
    cfg = tiny_config(encoder, bridge, n_chroma=24, harmony_hidden=8, chord_head=True, bar_hidden=8, bar_head=True)
    model = build_model(cfg).eval()
    torch.nn.init.normal_(model.bar_path.to_latent.weight, std=0.3)  # it starts silent: make it speak
    torch.nn.init.normal_(model.harmony.to_latent.weight, std=0.3)
    features, controls = clip_inputs(cfg, batch=2, frames=9)
    with torch.no_grad():
        whole = model(features, controls)
        streamed = run_steps(model, features, controls)
    torch.testing.assert_close(streamed, whole, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("encoder,bridge", [("conv", "gru"), ("transformer", "transformer")])
def test_harmony_path_into_the_palette_streams_like_forward(encoder, bridge):
    torch.manual_seed(0)
    base = tiny_config(encoder, bridge, n_chroma=24, harmony_hidden=8, chord_head=True)
    cfg = dataclasses.replace(base, harmony_into="palette", decoder=dataclasses.replace(base.decoder, palette=3))
    model = build_model(cfg).eval()
    torch.nn.init.normal_(model.decoder.colours.weight, std=0.3)  # the colours start fixed: make them listen
    features, controls = clip_inputs(cfg, batch=2, frames=9)
    with torch.no_grad():
        for size in (None, (20, 12)):
            whole = model(features, controls, size=size)
            torch.testing.assert_close(run_steps(model, features, controls, size=size), whole, atol=1e-5, rtol=1e-4)
        index = torch.tensor([[0, 4], [8, 2]])  # training decodes a few frames: the same frames as all of them
        torch.testing.assert_close(model(features, controls, frame_index=index),
                                   torch.stack([whole_i[idx] for whole_i, idx in zip(model(features, controls), index)]))
