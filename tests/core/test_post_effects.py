"""Post effects: each one does what the VJ expects, and none of them when all are off."""


import pytest
import numpy as np
import torch

from synesthete.controls import EffectParams
from synesthete.post_effects import PostEffects, hue_matrix, to_uint8


def picture(h: int = 32, w: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(3, h, w, generator=g)  # (3, H, W)


def test_all_effects_off_is_the_identity():
    fx = PostEffects()
    x = picture()
    assert torch.equal(fx.apply(x, EffectParams()), x)


def test_hue_shift_rotates_colour_and_keeps_luma():
    red = torch.zeros(3, 4, 4)
    red[0] = 0.6
    red[1:] = 0.2
    out = PostEffects().apply(red, EffectParams(hue=1 / 3))
    assert out[1].mean() > out[0].mean(), "a third of a turn moves red toward green"
    luma = torch.tensor([0.299, 0.587, 0.114])
    assert float((luma @ out.reshape(3, -1)).mean()) == pytest.approx(float((luma @ red.reshape(3, -1)).mean()), abs=1e-3)
    assert torch.allclose(hue_matrix(1.0, torch.device("cpu")), torch.eye(3), atol=1e-5), "a full turn is nothing"


def test_mirror_modes_are_symmetric():
    x = picture()
    m1 = PostEffects().apply(x, EffectParams(mirror=1))
    assert torch.allclose(m1, m1.flip(-1), atol=1e-5), "mirror: left-right symmetric"
    m2 = PostEffects().apply(x, EffectParams(mirror=2))
    assert torch.allclose(m2, m2.flip(-1), atol=1e-5) and torch.allclose(m2, m2.flip(-2), atol=1e-5)
    m3 = PostEffects().apply(x, EffectParams(mirror=3))
    assert not torch.allclose(m3, x, atol=1e-2), "kaleidoscope changes the picture"
    assert torch.allclose(m3, m3.flip(-1), atol=0.05), "six wedges folded: symmetric about the vertical axis"


def test_zoom_magnifies_the_centre():
    ramp = torch.linspace(0, 1, 33).expand(3, 33, 33).clone()  # brightness grows to the right
    out = PostEffects().apply(ramp, EffectParams(zoom=1.0))  # 3x
    assert float(out[0, 16, 16]) == pytest.approx(0.5, abs=1e-3), "the centre stays"
    assert float(out[0, 16, -1] - out[0, 16, 0]) == pytest.approx(1 / 3, abs=0.02), "a third of the width fills the frame"


def test_feedback_leaves_trails_of_the_previous_frame():
    fx = PostEffects()
    white, black = torch.ones(3, 8, 8), torch.zeros(3, 8, 8)
    fx.apply(white, EffectParams(feedback=0.8))
    out = fx.apply(black, EffectParams(feedback=0.8))
    assert float(out.mean()) == pytest.approx(0.8, abs=1e-4)
    out = fx.apply(black, EffectParams(feedback=0.8))
    assert float(out.mean()) == pytest.approx(0.64, abs=1e-4), "trails decay geometrically"


def test_freeze_holds_the_picture_until_released():
    fx = PostEffects()
    a, b = picture(seed=1), picture(seed=2)
    held = fx.apply(a, EffectParams(freeze=True))
    assert torch.equal(fx.apply(b, EffectParams(freeze=True)), held)
    assert torch.equal(fx.apply(b, EffectParams(freeze=False)), b)


def test_strobe_flashes_on_the_beat_and_decays():
    fx = PostEffects(fps=60)
    x = torch.full((3, 4, 4), 0.2)
    assert torch.equal(fx.apply(x, EffectParams(strobe=1.0), beat=False), x), "no beat, no flash"
    flash = fx.apply(x, EffectParams(strobe=1.0), beat=True)
    assert torch.allclose(flash, torch.ones_like(x))
    after = fx.apply(x, EffectParams(strobe=1.0), beat=False)
    assert 0.2 < after.mean() < 0.8
    assert torch.equal(PostEffects().apply(x, EffectParams(strobe=0.0), beat=True), x), "strobe at 0 is off"


def test_blackout_goes_black_and_uint8_conversion():
    x = picture()
    assert PostEffects().apply(x, EffectParams(blackout=1.0)).abs().max() == 0
    img = to_uint8(x)
    assert img.shape == (32, 32, 3) and img.dtype.name == "uint8" and img.flags["C_CONTIGUOUS"]
    assert img[5, 7, 1] == int(x[1, 5, 7] * 255 + 0.5)
    wild = x.clone()
    wild[0, 0, 0], wild[2, 3, 4] = -0.5, 1.5  # outside [0, 1]: saturates, never wraps or mirrors
    out = to_uint8(wild)
    assert out[0, 0, 0] == 0 and out[3, 4, 2] == 255
    assert np.array_equal(np.delete(out.reshape(-1), [0, (3 * 32 + 4) * 3 + 2]), np.delete(img.reshape(-1), [0, (3 * 32 + 4) * 3 + 2]))


def test_every_effect_at_once_gives_a_valid_picture_at_model_resolution():
    # Its cost per frame is a figure of `synesthete-bench render` (post_effects_ms_128), not an assert here.
    fx = PostEffects()
    x = picture(128, 128)
    p = EffectParams(hue=0.3, feedback=0.5, zoom=0.4, mirror=3, strobe=0.5, blackout=0.2)
    outs = [fx.apply(x, p, beat=True).clone() for _ in range(4)]
    for out in outs:
        assert out.shape == x.shape and torch.isfinite(out).all() and 0.0 <= out.min() and out.max() <= 1.0
    assert not torch.allclose(outs[0], x), "the effects changed the picture"
    assert not torch.allclose(outs[0], outs[-1]), "feedback carries over from frame to frame"
