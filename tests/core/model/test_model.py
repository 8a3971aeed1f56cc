"""AudioToVideo behaviour: shapes, aux heads, controls, causality, config and registry errors, devices."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from synesthete.config import ConfigError, from_dict, load_config, to_dict
from synesthete.constants import STEMS
from synesthete.features import FeatureExtractor
from synesthete.model import AudioToVideo, ModelConfig, build_model, model_config
from synesthete.registry import available

from model_testkit import STYLES, clip_inputs, tiny_config, tiny_model


def test_forward_shapes_range_and_aux():
    model = tiny_model()
    features, controls = clip_inputs(model.cfg, batch=2, frames=6)
    frames, aux = model(features, controls, return_aux=True)
    assert frames.shape == (2, 6, 3, 16, 16)
    assert 0.0 <= frames.min() and frames.max() <= 1.0
    assert aux["beat"].shape == (2, 6, 2)
    assert aux["onset"].shape == (2, 6, len(STEMS))
    assert model.cfg.n_control_inputs == len(STYLES) + 1


def test_step_output_shape_and_state_is_tensors():
    model = tiny_model(bridge="transformer")
    state = model.init_state(3, "cpu")
    features, controls = clip_inputs(model.cfg, batch=3, frames=1)
    frame, new_state = model.step(features[:, 0], controls[:, 0], state, size=(8, 24))
    assert frame.shape == (3, 3, 8, 24)
    leaves = [t for part in new_state.values() for t in part]
    assert leaves and all(isinstance(t, torch.Tensor) for t in leaves)


@pytest.mark.parametrize("decoder", available("decoder"))  # every registered decoder
def test_style_controls_change_the_picture(decoder):
    model = tiny_model(decoder=decoder)
    features, controls = clip_inputs(model.cfg, batch=1, frames=4)
    style_a = torch.zeros_like(controls)
    style_a[..., 0] = 1.0
    style_b = torch.zeros_like(controls)
    style_b[..., 1] = 1.0
    with torch.no_grad():
        diff = (model(features, style_a) - model(features, style_b)).abs().mean()
    assert diff > 1e-3


def test_frames_are_causal_in_audio():
    """Changing audio after sample (t + 1) * hop changes neither features nor frames up to t."""
    cfg = tiny_config(bridge="transformer", encoder="conv")
    model = build_model(cfg).eval()
    fx = FeatureExtractor(cfg.sample_rate, cfg.fps, n_mels=cfg.n_mels, n_fft=cfg.n_fft)
    g = torch.Generator().manual_seed(3)
    audio = torch.randn(1, fx.hop * 12, generator=g) * 0.1
    t_cut = 5
    changed = audio.clone()
    changed[:, (t_cut + 1) * fx.hop :] = torch.randn(1, changed.shape[1] - (t_cut + 1) * fx.hop, generator=g)
    controls = torch.rand(1, 12, cfg.n_control_inputs, generator=g)
    with torch.no_grad():
        a, b = model(fx.extract(audio), controls), model(fx.extract(changed), controls)
    torch.testing.assert_close(a[:, : t_cut + 1], b[:, : t_cut + 1])
    assert (a[:, t_cut + 1 :] - b[:, t_cut + 1 :]).abs().max() > 1e-4


def test_unknown_component_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown bridge 'mamba'.*gru.*lstm.*none.*transformer"):
        build_model(tiny_config(bridge="mamba"))
    with pytest.raises(ValueError, match="unknown decoder 'nerf'.*conv.*implicit"):
        build_model(tiny_config(decoder="nerf"))


def test_bad_inputs_name_the_expected_shape():
    model = tiny_model()
    features, controls = clip_inputs(model.cfg, batch=1, frames=3)
    with pytest.raises(ValueError, match=r"controls must be \(1, 3, 4\)"):
        model(features, controls[..., :2])
    with pytest.raises(ValueError, match="features must be"):
        model.step(features, controls[:, 0], model.init_state(1))
    with pytest.raises(ValueError, match="aux_heads"):
        tiny_model(aux_heads=False)(features, controls, return_aux=True)


def test_conv_decoder_rejects_sizes_it_cannot_seed():
    with pytest.raises(ValueError, match="divisible"):
        build_model(tiny_config(height=18))


def test_conv_decoder_keeps_channels_last_weights_and_loads_either_layout():
    # oneDNN keeps the activations channels-last through every stage (2.3x faster training on the
    # CPU, docs/performance.md); checkpoints written with NCHW weights load into it unchanged.
    def channels_last(m) -> bool:
        convs = [*m.decoder.convs, m.decoder.to_rgb]
        return all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)

    model = tiny_model()
    assert channels_last(model)
    nchw = {k: v.contiguous() for k, v in model.state_dict().items()}
    assert not nchw["decoder.to_rgb.weight"].is_contiguous(memory_format=torch.channels_last)
    other = tiny_model()
    other.load_state_dict(nchw)
    assert channels_last(other)
    features, controls = clip_inputs(model.cfg, batch=2, frames=4)
    with torch.no_grad():
        torch.testing.assert_close(other(features, controls), model(features, controls))


def test_named_sizes_and_overrides():
    small, base = model_config("small", styles=STYLES), model_config("base", styles=STYLES)
    assert small == ModelConfig(styles=STYLES)  # the dataclass defaults are the default model
    assert build_model(base).num_params() > build_model(small).num_params() > build_model(tiny_config()).num_params()
    cfg = model_config("small", styles=STYLES, bridge={"name": "lstm", "layers": 2})
    assert (cfg.bridge.name, cfg.bridge.layers, cfg.bridge.hidden) == ("lstm", 2, small.bridge.hidden)
    with pytest.raises(ValueError, match="unknown model size 'huge'.*tiny, small, base"):
        model_config("huge")
    with pytest.raises(ValueError, match="unknown ModelConfig field"):
        model_config("small", styles=STYLES, colour=True)


def test_config_roundtrips_through_dict_and_toml_overrides(tmp_path):
    cfg = tiny_config(bridge="transformer")
    assert from_dict(ModelConfig, to_dict(cfg)) == cfg
    toml = tmp_path / "m.toml"
    toml.write_text('styles = ["x", "y"]\nheight = 32\n[bridge]\nname = "lstm"\n')
    loaded = load_config(ModelConfig, toml, ["bridge.hidden=48", "decoder.channels=[8, 8]"])
    assert (loaded.styles, loaded.height, loaded.bridge.name, loaded.bridge.hidden) == (("x", "y"), 32, "lstm", 48)
    assert loaded.decoder.channels == (8, 8)
    with pytest.raises(ConfigError, match="bridge.hiden: unknown key"):
        load_config(ModelConfig, toml, ["bridge.hiden=3"])
    assert dataclasses.is_dataclass(loaded) and isinstance(build_model(loaded), AudioToVideo)


def _devices() -> list[str]:
    out = []
    out.append(pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")))
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    out.append(pytest.param("mps", marks=pytest.mark.skipif(not has_mps, reason="no MPS")))
    return ["cpu"] + out


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("bridge", ["gru", "transformer"])
def test_runs_on_device_like_on_cpu(device, bridge):
    model = tiny_model(bridge=bridge, decoder="implicit" if bridge == "gru" else "conv")
    features, controls = clip_inputs(model.cfg, batch=1, frames=6)
    with torch.no_grad():
        reference = model(features, controls)
        moved = model.to(device)
        state = moved.init_state(1, device)
        frames = []
        for t in range(6):
            frame, state = moved.step(features[:, t].to(device), controls[:, t].to(device), state)
            frames.append(frame.cpu())
    torch.testing.assert_close(torch.stack(frames, 1), reference, atol=1e-3, rtol=1e-3)


def test_default_styles_come_from_the_teacher():
    teacher = pytest.importorskip("synesthete.visual.teacher")
    cfg = ModelConfig()
    assert cfg.styles == tuple(teacher.STYLE_NAMES)
    assert cfg.n_control_inputs == len(teacher.STYLE_NAMES) + 1


def test_decoding_selected_frames_equals_those_frames_of_the_full_decode():
    import torch

    from synesthete.model import build_model, model_config

    torch.manual_seed(0)
    model = build_model(model_config("tiny", styles=("a", "b"), height=16, width=16)).eval()
    feats = torch.randn(2, 10, model.cfg.n_features)
    ctl = torch.rand(2, 10, model.cfg.n_control_inputs)
    idx = torch.tensor([[0, 1, 6, 7], [3, 4, 8, 9]])
    with torch.no_grad():
        full = model(feats, ctl)
        some = model(feats, ctl, frame_index=idx)
    assert some.shape == (2, 4, 3, 16, 16)
    for b in range(2):
        torch.testing.assert_close(some[b], full[b, idx[b]])


@pytest.mark.parametrize("n_chroma", [12, 24, 48])
def test_chroma_features_widen_the_input_and_old_configs_stay_without(n_chroma):
    from synesthete.features import FeatureExtractor

    cfg = tiny_config(n_chroma=n_chroma)
    assert cfg.n_features == tiny_config().n_features + n_chroma
    model = tiny_model(n_chroma=n_chroma)
    audio = torch.randn(1, cfg.sample_rate // 4) * 0.1
    feats = FeatureExtractor.for_model(cfg).extract(audio)  # (1, T, F)
    controls = torch.zeros(1, feats.shape[1], cfg.n_control_inputs)
    assert model(feats, controls).shape[:2] == feats.shape[:2]
    with pytest.raises(ValueError, match="features must be"):
        model(feats[..., :-12], controls)
    with pytest.raises(ValueError, match="n_chroma"):
        tiny_config(n_chroma=13)


@pytest.mark.parametrize("flag, key, width", [("chord_head", "chord", 12), ("bar_head", "bar", 2)])
def test_optional_heads_exist_only_when_asked(flag, key, width):
    # chord: 12 root logits; bar: (sin, cos) of the bar phase
    model = tiny_model(**{flag: True})
    features, controls = clip_inputs(model.cfg, batch=2, frames=5)
    _, aux = model(features, controls, return_aux=True)
    assert aux[key].shape == (2, 5, width)
    _, aux = tiny_model()(features, controls, return_aux=True)
    assert key not in aux  # off by default: configs and checkpoints without the key keep their meaning


def assert_starts_silent(model, plain, prefix, features, controls):
    """A model with a new side path draws what the same weights draw without it."""
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith(prefix)})
    with torch.no_grad():
        torch.testing.assert_close(model(features, controls), plain(features, controls))


def test_the_harmony_path_hears_only_the_chroma_and_carries_the_chord_head():
    model = tiny_model(n_chroma=24, harmony_hidden=8, chord_head=True)
    assert model.heads.chord is None and model.harmony.chord is not None  # not on the rhythm latent
    # It starts silent (a new path changes no picture until trained), then colours the frames.
    features, controls = clip_inputs(model.cfg, batch=1, frames=6)
    assert_starts_silent(model, tiny_model(n_chroma=24), "harmony.", features, controls)
    with torch.no_grad():
        torch.nn.init.normal_(model.harmony.to_latent.weight, std=0.3)
        frames, aux = model(features, controls, return_aux=True)
    assert aux["chord"].shape == (1, 6, 12)
    # Changing the mel bins moves the chord logits not at all; changing the chroma bins does.
    louder = features.clone()
    louder[..., :16] += 1.0
    rechord = features.clone()
    rechord[..., -24:] = torch.rand_like(rechord[..., -24:])
    with torch.no_grad():
        torch.testing.assert_close(model(louder, controls, return_aux=True)[1]["chord"], aux["chord"])
        assert (model(rechord, controls, return_aux=True)[1]["chord"] - aux["chord"]).abs().max() > 1e-3
        assert (model(rechord, controls) - frames).abs().max() > 1e-4
    with pytest.raises(ValueError, match="harmony_hidden = 8 needs chroma"):
        tiny_config(harmony_hidden=8)


def test_the_bar_path_carries_the_bar_head_and_never_pulls_on_the_rhythm_memory():
    torch.manual_seed(0)
    model = tiny_model(bar_hidden=8, bar_head=True)
    assert model.heads.bar is None and model.bar_path.bar is not None  # not on the rhythm latent
    features, controls = clip_inputs(model.cfg, batch=2, frames=7)
    assert_starts_silent(model, tiny_model(), "bar_path.", features, controls)
    torch.nn.init.normal_(model.bar_path.to_latent.weight, std=0.3)
    frames, aux = model(features, controls, return_aux=True)
    assert aux["bar"].shape == (2, 7, 2)
    # The bar loss trains the path and reaches neither the encoder nor the rhythm memory: it reads
    # their latent detached, so the beat they found keeps its place.
    aux["bar"].square().sum().backward(retain_graph=True)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.bar_path.rnn.parameters())
    assert all(p.grad is None for p in (*model.encoder.parameters(), *model.bridge.parameters()))
    # The pictures do hear it: the reconstruction loss trains the path through its offset.
    model.zero_grad()
    frames.mean().backward()
    assert model.bar_path.rnn.weight_ih_l0.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="bar_hidden must be >= 0"):
        tiny_config(bar_hidden=-1)


def palette_harmony_model(**overrides):
    base = tiny_config(n_chroma=24, harmony_hidden=8, chord_head=True)
    torch.manual_seed(0)
    return build_model(dataclasses.replace(base, harmony_into="palette",
                                           decoder=dataclasses.replace(base.decoder, palette=3), **overrides)).eval()


def test_the_harmony_path_into_the_palette_recolours_and_never_reshapes():
    model = palette_harmony_model()
    cfg = model.cfg  # the colours read [latent, controls, the path's state]; the latent gets nothing
    assert model.harmony.to_latent is None
    assert model.decoder.colours.in_features == cfg.latent_dim + cfg.n_control_inputs + cfg.harmony_hidden
    features, controls = clip_inputs(model.cfg, batch=1, frames=6)
    maps = []  # the K scalar maps the palette colours: the shapes
    model.decoder.to_rgb.register_forward_hook(lambda mod, inp, out: maps.append(out))
    with torch.no_grad():
        torch.nn.init.normal_(model.decoder.colours.weight, std=0.3)
        before = model(features, controls)
        for p in model.harmony.rnn.parameters():  # another harmony path: another chord heard
            p.add_(torch.randn_like(p))
        after = model(features, controls)
    torch.testing.assert_close(maps[1], maps[0])  # same shapes, bit for bit
    assert (after - before).abs().max() > 1e-3  # other colours


def test_the_harmony_path_into_the_palette_is_refused_without_a_palette():
    with pytest.raises(ValueError, match="needs the conv decoder with decoder.palette > 0"):
        tiny_config(n_chroma=24, harmony_hidden=8, harmony_into="palette")
    with pytest.raises(ValueError, match='harmony_into must be "latent" or "palette"'):
        tiny_config(n_chroma=24, harmony_hidden=8, harmony_into="decoder")


def test_the_band_transformer_reads_mel_bins_as_bands_and_the_rest_as_extras():
    # With chroma the features are [mel, flux, RMS, chroma]: only the mel bins are banded.
    model = tiny_model(encoder="transformer", n_chroma=12)
    cfg = model.cfg
    assert model.encoder.n_mels == cfg.n_mels
    assert model.encoder.extra_proj.in_features == 2 + 12
    features, controls = clip_inputs(cfg, batch=1, frames=4)
    state = model.init_state(1)
    streamed = []
    for t in range(4):
        frame, state = model.step(features[:, t], controls[:, t], state)
        streamed.append(frame)
    torch.testing.assert_close(torch.stack(streamed, 1), model(features, controls), atol=1e-5, rtol=0)


def test_palette_decoder_colours_frames_from_the_conditioning():
    """decoder.palette: K maps times per-frame colours read from [latent, controls]. The colour
    layer starts at zero (a fixed palette), learns from the frame loss, and its bias part tints
    the whole frame: +1 on the red bias is +1 on every red logit and nothing on green or blue."""
    from synesthete.model.decoders.conv import ConvDecoder

    torch.manual_seed(0)
    dec = ConvDecoder(latent_dim=4, cond_dim=2, height=8, width=8, channels=(8, 4), palette=2)
    z, ctl = torch.randn(2, 4), torch.rand(2, 2)
    before = dec(z, ctl)
    assert before.shape == (2, 3, 8, 8)
    assert dec.colours.weight.abs().sum() == 0
    before.square().mean().backward()
    assert dec.colours.weight.grad.abs().sum() > 0
    with torch.no_grad():
        dec.colours.bias[3 * 2] += 1.0  # the red entry of the per-frame bias
        after = dec(z, ctl)
    torch.testing.assert_close(after[:, 0] - before[:, 0].detach(), torch.ones(2, 8, 8))
    torch.testing.assert_close(after[:, 1:], before[:, 1:].detach())
    with pytest.raises(ValueError, match="palette"):
        ConvDecoder(4, 2, 8, 8, (8, 4), palette=-1)
