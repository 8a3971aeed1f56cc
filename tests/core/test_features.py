"""The causal feature extractor: batch == streaming, causality, shapes, scale, devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synesthete.features import FeatureExtractor, StreamingFeatures

SR, FPS = 24_000, 60
HOP = SR // FPS


def music_like(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Tone bursts over quiet noise: onsets every 0.25 s, so flux and RMS move."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * seconds)) / SR
    bursts = 0.4 * np.sin(2 * np.pi * 220 * t) * ((t % 0.25) < 0.06)
    return (bursts + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def push_in_chunks(stream: StreamingFeatures, audio: np.ndarray, rng: np.random.Generator,
                   sizes: list[int]) -> torch.Tensor:
    """The whole clip pushed in chunks whose sizes are drawn from `sizes`: (T, F)."""
    rows, i = [], 0
    while i < audio.size:
        n = int(rng.choice(sizes))
        rows.append(stream.push(audio[i : i + n]))
        i += n
    return torch.cat(rows)


def test_shape_and_frame_count():
    fx = FeatureExtractor(SR, FPS, n_mels=64, n_fft=1024)
    audio = torch.from_numpy(music_like())
    feats = fx.extract(audio)
    assert feats.shape == (1, SR // HOP, 66)
    assert fx.extract(torch.stack([audio, audio]))[:, :-1].shape == (2, SR // HOP - 1, 66)
    assert fx.extract(audio[: HOP * 7 + HOP - 1]).shape == (1, 7, 66)  # a partial hop is no frame


def test_values_are_roughly_unit_scale_and_react_to_onsets():
    feats = FeatureExtractor(SR, FPS).extract(torch.from_numpy(music_like(2.0)))[0]  # (T, 66)
    assert feats.abs().max() < 6.0
    assert feats[:, :64].std() > 0.1
    flux = feats[:, 64]
    onset_frames = [int(round(k * 0.25 * FPS)) for k in range(1, 8)]  # burst k starts inside this frame
    assert flux[onset_frames].mean() > 5 * flux.median()
    rms = feats[:, 65]
    assert rms[onset_frames].mean() > rms[[f + 6 for f in onset_frames]].mean()  # loud burst vs gap


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_streaming_equals_batch_for_random_chunkings(seed):
    audio = music_like(1.0, seed)
    batch = FeatureExtractor(SR, FPS).extract(torch.from_numpy(audio))[0]
    streamed = push_in_chunks(StreamingFeatures(SR, FPS), audio, np.random.default_rng(seed),
                              [1, 7, 128, 256, HOP, 1500, 5000])
    assert streamed.shape == batch.shape
    torch.testing.assert_close(streamed, batch, atol=1e-5, rtol=0)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("n_chroma, chroma_fft", [(12, 4096), (24, 8192), (36, 8192), (48, 8192), (48, 4096)])
def test_streaming_equals_batch_with_chroma(seed, n_chroma, chroma_fft):
    audio = music_like(1.0, seed)
    batch = FeatureExtractor(SR, FPS, n_chroma=n_chroma, chroma_fft=chroma_fft).extract(torch.from_numpy(audio))[0]
    assert batch.shape[-1] == 64 + 2 + n_chroma
    stream = StreamingFeatures(SR, FPS, n_chroma=n_chroma, chroma_fft=chroma_fft)
    streamed = push_in_chunks(stream, audio, np.random.default_rng(seed), [1, 128, HOP, 1500, 5000])
    torch.testing.assert_close(streamed, batch, atol=1e-5, rtol=0)


@pytest.mark.parametrize("band_flux", [16, 64])
def test_band_flux_streams_like_batch_and_rises_where_the_onset_is(band_flux):
    """Per-band flux: streaming equals batch, its mean is the broadband flux, and a low tone's
    onset rises in the low groups while a high one's rises in the high groups."""
    t = np.arange(SR) / SR
    ramp = lambda t0: np.clip((t - t0) / 0.005, 0.0, 1.0)  # noqa: E731  (5 ms fade-in: no broadband click)
    low = 0.4 * np.sin(2 * np.pi * 60 * t) * ramp(0.2) * (t < 0.4)  # starts inside frame 11
    high = 0.2 * np.sin(2 * np.pi * 7000 * t) * ramp(0.6)  # starts inside frame 35
    audio = (low + high).astype(np.float32)
    fx = FeatureExtractor(SR, FPS, band_flux=band_flux, n_chroma=24, chroma_fft=8192)
    assert fx.n_features == 64 + 2 + band_flux + 24
    feats = fx.extract(torch.from_numpy(audio))[0]
    stream = StreamingFeatures(SR, FPS, band_flux=band_flux, n_chroma=24, chroma_fft=8192)
    streamed = torch.cat([stream.push(audio[i: i + 1500]) for i in range(0, audio.size, 1500)])
    torch.testing.assert_close(streamed, feats, atol=1e-5, rtol=0)
    bands = feats[:, 66: 66 + band_flux]  # (T, band_flux)
    torch.testing.assert_close(bands.mean(dim=-1), feats[:, 64], atol=1e-5, rtol=0)
    quarter = band_flux // 4
    at_low, at_high = bands[11: 14].amax(dim=0), bands[35: 38].amax(dim=0)  # the onset's frames
    assert at_low[:quarter].max() > 5 * at_low[-quarter:].max()
    assert at_high[-quarter:].max() > 5 * at_high[:quarter].max()
    with pytest.raises(ValueError, match="band_flux must be 0"):
        FeatureExtractor(SR, FPS, band_flux=5)


def test_the_asymmetric_window_hears_the_newest_hop_on_its_own_frame():
    """window_fall: a click late in a frame's hop shows on that frame at a few dB under the next
    frame's, where the Hann window hides it; streaming still equals batch."""
    audio = np.zeros(SR // 2, np.float32)
    at = 11 * HOP - 60  # 60 samples before frame 10's instant (frame t ends at sample (t + 1) * HOP)
    audio[at: at + 240] = 0.5 * np.sin(2 * np.pi * 80 * np.arange(240) / SR)  # a short low thump
    rise = {}
    for fall in (0, 32):
        fx = FeatureExtractor(SR, FPS, window_fall=fall)
        feats = fx.extract(torch.from_numpy(audio))[0]
        stream = StreamingFeatures(SR, FPS, window_fall=fall)
        torch.testing.assert_close(torch.cat([stream.push(audio[i: i + 700]) for i in range(0, audio.size, 700)]),
                                   feats, atol=1e-5, rtol=0)
        rise[fall] = float(feats[10, 64] / feats[11, 64])  # the flux on the hit's frame against the next one's
    assert rise[32] > 3 * rise[0]
    with pytest.raises(ValueError, match="window_fall"):
        FeatureExtractor(SR, FPS, window_fall=512)


def test_the_fast_block_hears_a_late_hit_on_its_own_frame_and_streams_like_batch():
    """fast_mels: a low tone starting 100 samples before frame 10's instant (over quiet noise)
    reaches the fast block's low bands on frame 10 at nearly its full rise, where the main log-mel
    rises by less than half of its rise until frame 11; the block sits before chroma (chroma stays
    last), its rise is the positive difference of its log-mel frames, and streaming equals batch."""
    audio = 0.05 * np.random.default_rng(0).standard_normal(SR // 2).astype(np.float32)
    at = 11 * HOP - 100  # 100 samples before frame 10's instant (frame t ends at sample (t + 1) * HOP)
    audio[at:] += 0.5 * np.sin(2 * np.pi * 80 * np.arange(audio.size - at) / SR)
    fx = FeatureExtractor(SR, FPS, fast_mels=16, n_chroma=24, chroma_fft=8192)
    assert fx.n_features == 64 + 2 + 2 * 16 + 24
    feats = fx.extract(torch.from_numpy(audio))[0]
    stream = StreamingFeatures(SR, FPS, fast_mels=16, n_chroma=24, chroma_fft=8192)
    torch.testing.assert_close(torch.cat([stream.push(audio[i: i + 700]) for i in range(0, audio.size, 700)]),
                               feats, atol=1e-5, rtol=0)
    fast, rise = feats[:, 66: 82], feats[:, 82: 98]  # (T, 16) each, in their scaled units
    torch.testing.assert_close(rise[1:], (fast[1:] - fast[:-1]).clamp_min(0.0) * 5.0 / 3.0, atol=1e-5, rtol=0)
    main_low, fast_low = feats[:, :8].mean(dim=-1), fast[:, :4].mean(dim=-1)  # the low bands of each
    assert fast_low[10] - fast_low[9] > 0.8 * (fast_low[11] - fast_low[9])  # the fast block: on its own frame
    assert main_low[10] - main_low[9] < 0.4 * (main_low[11] - main_low[9])  # the main window: mostly a frame late
    torch.testing.assert_close(feats[:, -24:], FeatureExtractor(SR, FPS, n_chroma=24, chroma_fft=8192)
                               .extract(torch.from_numpy(audio))[0, :, -24:])
    with pytest.raises(ValueError, match="fast_mels"):
        FeatureExtractor(SR, FPS, fast_mels=16, fast_fft=32)
    with pytest.raises(ValueError, match="fast window shape"):
        FeatureExtractor(SR, FPS, fast_mels=16, fast_shape="square")


def test_pcen_hears_each_band_against_its_own_past_and_streams_like_batch():
    """pcen: n_mels bands after the fast block, before chroma (chroma stays last). A band's PCEN
    reads its power against its own running mean: the same music 20 dB quieter reads within a few
    hundredths in the note's band once the means have settled (the log-mel moves by the whole
    20 dB), a burst over the held note stands far above it on the frame that holds it, and
    streaming in any chunking equals batch."""
    rng = np.random.default_rng(0)
    t = np.arange(SR * 2) / SR
    held = 0.3 * np.sin(2 * np.pi * 110 * t)  # a held bass note ...
    hit = np.zeros_like(t)
    at = int(1.5 * SR)  # ... and a burst of noise on top of it, 1.5 s in
    hit[at: at + 1200] = 1.5 * rng.standard_normal(1200) * np.exp(-np.arange(1200) / 300)  # white: every band
    audio = (held + hit + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    kwargs = dict(fast_mels=8, n_chroma=24, chroma_fft=8192, pcen=True)
    fx = FeatureExtractor(SR, FPS, **kwargs)
    assert fx.n_features == 64 + 2 + 2 * 8 + 64 + 24
    feats = fx.extract(torch.from_numpy(audio))[0]
    quiet = fx.extract(torch.from_numpy(audio * 0.1))[0]
    streamed = push_in_chunks(StreamingFeatures(SR, FPS, **kwargs), audio, rng, [1, 7, 128, HOP, 1500])
    torch.testing.assert_close(streamed, feats, atol=1e-5, rtol=0)
    pcen, quiet_pcen = feats[:, 82: 146], quiet[:, 82: 146]
    settled = slice(int(1.0 * FPS), int(1.45 * FPS))
    band = int(feats[settled, :64].mean(dim=0).argmax())  # the mel band that holds the note
    assert (feats[settled, band] - quiet[settled, band]).mean() > 0.9  # log-mel: 20 dB is 0.92 in its units
    assert (pcen[settled, band] - quiet_pcen[settled, band]).abs().mean() < 0.05
    frame = at // HOP  # the burst starts with this frame's hop: heard on this frame
    assert pcen[frame].mean() > pcen[settled].mean() + 0.8
    assert pcen[frame - 1].mean() < pcen[settled].mean() + 0.1
    torch.testing.assert_close(feats[:, -24:], FeatureExtractor(SR, FPS, n_chroma=24, chroma_fft=8192)
                               .extract(torch.from_numpy(audio))[0, :, -24:])
    torch.testing.assert_close(feats[:, :82],
                               FeatureExtractor(SR, FPS, fast_mels=8).extract(torch.from_numpy(audio))[0])


def tones(freqs: list[float], seconds: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return sum(0.2 * torch.sin(2 * torch.pi * f * t) for f in freqs)


def test_chroma_names_the_pitch_classes_of_a_chord():
    fx = FeatureExtractor(SR, FPS, n_chroma=12)
    # A3 alone -> class 9 (A); a C major triad (C4 E4 G4) -> classes 0, 4, 7 on top.
    a = fx.extract(tones([220.0]))[0, -1, 66:]
    assert int(a.argmax()) == 9 and a[9] > 0.9 and a[[0, 2, 4, 5, 7]].max() < 0.2
    c = fx.extract(tones([261.63, 329.63, 392.0]))[0, -1, 66:]
    assert set(c.topk(3).indices.tolist()) == {0, 4, 7}
    # Silence reads ~0 rather than a random normalised vector.
    assert fx.extract(torch.zeros(SR // 2))[0, -1, 66:].abs().max() < 1e-3


def test_bass_and_harmony_chroma_name_the_root_apart_from_the_chord():
    fx = FeatureExtractor(SR, FPS, n_chroma=24, chroma_fft=8192)
    # A1 (55 Hz) under a C major triad: the bass vector names A, the harmony vector C, E and G,
    # and neither hears the other (a 12-bin power chroma of the same sound cannot tell them apart).
    frame = fx.extract(tones([55.0, 261.63, 329.63, 392.0], seconds=0.6))[0, -1]
    bass, harmony = frame[66:78], frame[78:]
    assert int(bass.argmax()) == 9 and bass[9] > 0.9 and bass[[0, 4, 7]].max() < 0.1
    assert set(harmony.topk(3).indices.tolist()) == {0, 4, 7} and harmony[9] < 0.1
    # A bass note an octave lower (E1, 41.2 Hz) still resolves to its class with the long window.
    low = fx.extract(tones([41.2], seconds=0.6))[0, -1, 66:78]
    assert int(low.argmax()) == 4 and low[[3, 5]].max() < 0.6  # (a pure sine; a bass has partials too)
    # Silence and faint noise (-60 dBFS) read low, not as a random normalised vector.
    assert fx.extract(torch.zeros(SR // 2))[0, -1, 66:].abs().max() < 1e-3
    torch.manual_seed(0)
    assert fx.extract(1e-3 * torch.randn(SR // 2))[0, -1, 66:].max() < 0.5


def test_the_fast_harmony_vector_hears_a_chord_change_first():
    # C major for 0.6 s, then F# major (no common tone): the 2048-sample vector (the last 12 of
    # n_chroma = 36) says F# major louder than C major within a few frames, the 8192-sample harmony
    # vector (the middle 12) only once its longer window holds more of the new chord. The first 24
    # are layout 24's, unchanged.
    fx = FeatureExtractor(SR, FPS, n_chroma=36, chroma_fft=8192)
    assert fx.n_features == 64 + 2 + 36 and fx.span == 8192
    audio = torch.cat([tones([261.63, 329.63, 392.0], 0.6), tones([369.99, 466.16, 554.37], 0.6)])
    feats = fx.extract(audio)[0]
    torch.testing.assert_close(feats[:, :90], FeatureExtractor(SR, FPS, n_chroma=24, chroma_fft=8192).extract(audio)[0])
    after = feats[int(0.6 * FPS):]
    first = [int(torch.nonzero(after[:, [o + 6, o + 10, o + 1]].mean(-1) > after[:, [o + 0, o + 4, o + 7]].mean(-1))[0])
             for o in (78, 90)]  # frames after the change until the new chord reads louder: long, fast
    assert first[1] <= 3 and first[0] >= first[1] + 4, first


def bass_note(midi: float, partials: dict[int, float], seconds: float = 0.6) -> torch.Tensor:
    """A bass note as its partials {harmonic: amplitude} (a high-passed one: no fundamental)."""
    t = torch.arange(int(SR * seconds), dtype=torch.float64) / SR
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    return sum(a * torch.sin(2 * torch.pi * h * f0 * t) for h, a in partials.items()).to(torch.float32)


def test_the_bass_salience_names_the_fundamental_where_the_folded_bass_hears_the_fifth():
    """n_chroma = 48: an E1 bass through a cheap mic's high-pass (no fundamental, the octave
    quieter than the 3rd partial, B): the folded bass vector (features 66:78) names B, the fifth;
    the salience vector (the last 12) names E. Layout 36's 36 values come first, bit for bit."""
    fx = FeatureExtractor(SR, FPS, n_chroma=48, chroma_fft=8192)
    assert fx.n_features == 64 + 2 + 48 and fx.span == 8192
    audio = bass_note(28, {2: 0.05, 3: 0.2, 4: 0.12, 5: 0.08, 6: 0.06, 7: 0.04, 8: 0.03})
    feats = fx.extract(audio)[0]
    torch.testing.assert_close(feats[:, :-12], FeatureExtractor(SR, FPS, n_chroma=36, chroma_fft=8192).extract(audio)[0],
                               atol=0, rtol=0)
    folded, salience = feats[-1, 66:78], feats[-1, -12:]
    assert int(folded.argmax()) == 11, folded  # B: the 3rd partial
    assert int(salience.argmax()) == 4 and salience[4] > 0.8 and salience[11] < salience[4] - 0.1, salience
    # A full A1 note with a C major triad above it: the salience still names A (the triad's
    # partials feed candidates too, but the bass's many partials agree on A).
    chord = bass_note(33, {1: 0.2, 2: 0.1, 3: 0.06, 4: 0.04}) + tones([261.63, 329.63, 392.0], 0.6)
    assert int(fx.extract(chord)[0, -1, -12:].argmax()) == 9
    # Silence reads 0, faint noise (-60 dBFS) low, not a random normalised vector.
    assert fx.extract(torch.zeros(SR // 2))[0, -1, -12:].abs().max() == 0
    torch.manual_seed(0)
    assert fx.extract(1e-3 * torch.randn(SR // 2))[0, -1, -12:].max() < 0.5


def test_the_bass_salience_is_the_documented_harmonic_sum():
    """The salience vector against its definition (BassSalience) written out per candidate and
    harmonic: log magnitudes, Gaussian kernels of unit area, decay^(h-1), loudest candidate per
    class, divided by the loudest class + floor."""
    from synesthete.features import CHROMA_LAYOUTS

    sal = CHROMA_LAYOUTS[48].salience
    n = 8192
    torch.manual_seed(1)
    audio = 0.05 * torch.randn(SR // 2) + bass_note(31, {1: 0.1, 2: 0.2, 3: 0.1}, 0.5)
    mag = torch.fft.rfft((audio[-n:] * torch.hann_window(n, periodic=True)).double()).abs()
    freqs = torch.fft.rfftfreq(n, 1 / SR, dtype=torch.float64)
    pitch = 69 + 12 * torch.log2(freqs.clamp_min(1e-3) / 440)
    loud = torch.log1p(mag / sal.scale)
    per_class = torch.zeros(12, dtype=torch.float64)
    for p in range(sal.lo, sal.hi + 1):
        total = 0.0
        for h in range(1, sal.harmonics + 1):
            k = torch.exp(-0.5 * ((pitch - p - 12 * np.log2(h)) / sal.width) ** 2)
            k[0] = 0
            total += sal.decay ** (h - 1) * float((k * loud).sum() / max(float(k.sum()), 1.0))
        per_class[p % 12] = max(per_class[p % 12], total)
    expected = (per_class / (per_class.max() + sal.floor)).float()
    torch.testing.assert_close(FeatureExtractor(SR, FPS, n_chroma=48, chroma_fft=n).extract(audio)[0, -1, -12:],
                               expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n_chroma, chroma_fft", [(12, 4096), (24, 8192)])
def test_chroma_folds_only_the_bins_its_bands_cover(n_chroma, chroma_fft):
    # The extractor folds the spectrum up to the top band's f_max only (a speed-up): above it is
    # nothing to fold, and the figures equal folding the whole spectrum with the full filterbank.
    from synesthete.features import CHROMA_LAYOUTS, chroma_filterbank

    fx = FeatureExtractor(SR, FPS, n_chroma=n_chroma, chroma_fft=chroma_fft)
    layout = CHROMA_LAYOUTS[n_chroma]
    chroma_bins = fx.chroma_parts[0][2].shape[0]
    full = torch.cat([chroma_filterbank(SR, chroma_fft, *band) for band in layout.bands], dim=1)
    assert chroma_bins < chroma_fft // 4 and full[chroma_bins:].abs().max() == 0
    torch.manual_seed(0)
    audio = 0.1 * torch.randn(SR // 2) + tones([55.0, 261.63, 392.0], seconds=0.5)
    window = audio[-chroma_fft:] * torch.hann_window(chroma_fft, periodic=True)
    power = torch.fft.rfft(window).abs().square()
    folded = ((power.sqrt() if layout.magnitude else power) @ full).unflatten(-1, (-1, 12))
    expected = (folded / (folded.amax(dim=-1, keepdim=True) + layout.floor)).flatten()
    torch.testing.assert_close(fx.extract(audio)[0, -1, 66:], expected, rtol=1e-4, atol=1e-5)


def test_chroma_is_causal_and_off_by_default():
    assert FeatureExtractor(SR, FPS).n_features == 66
    fx = FeatureExtractor(SR, FPS, n_chroma=12)
    audio = tones([220.0])
    t = 20
    changed = audio.clone()
    changed[(t + 1) * HOP :] = torch.randn(changed.numel() - (t + 1) * HOP)
    torch.testing.assert_close(fx.extract(changed)[0, : t + 1], fx.extract(audio)[0, : t + 1])
    for bad in (7, 30, 60):
        with pytest.raises(ValueError, match="n_chroma"):
            FeatureExtractor(SR, FPS, n_chroma=bad)


def test_reset_starts_a_new_clip():
    audio = music_like(0.5)
    stream = StreamingFeatures(SR, FPS)
    first = stream.push(audio)
    stream.reset()
    torch.testing.assert_close(stream.push(torch.from_numpy(audio)), first)


def test_window_shorter_than_hop_is_still_equal():
    fx, stream = FeatureExtractor(48_000, 30, n_mels=32, n_fft=512), StreamingFeatures(48_000, 30, n_mels=32, n_fft=512)
    audio = np.random.default_rng(0).standard_normal(48_000).astype(np.float32) * 0.1
    rows = [stream.push(audio[i : i + 700]) for i in range(0, audio.size, 700)]
    torch.testing.assert_close(torch.cat(rows), fx.extract(torch.from_numpy(audio))[0], atol=1e-5, rtol=0)


def test_features_are_causal():
    """Frame t uses only samples [0, (t + 1) * hop): changing later audio leaves it unchanged."""
    fx = FeatureExtractor(SR, FPS)
    audio = torch.from_numpy(music_like(0.5))
    t = 10
    changed = audio.clone()
    changed[(t + 1) * HOP :] = torch.randn(changed.numel() - (t + 1) * HOP)
    a, b = fx.extract(audio)[0], fx.extract(changed)[0]
    torch.testing.assert_close(a[: t + 1], b[: t + 1], atol=0, rtol=0)
    assert (a[t + 1] - b[t + 1]).abs().max() > 0.1
    # ... and the newest hop does count: frame t sees a change at sample (t + 1) * hop - 1.
    nudged = audio.clone()
    nudged[(t + 1) * HOP - 1] += 0.5
    assert (fx.extract(nudged)[0, t] - a[t]).abs().max() > 0


def test_bad_input_is_one_clear_error():
    with pytest.raises(ValueError, match=r"\(S,\) or \(B, S\)"):
        FeatureExtractor(SR, FPS).extract(torch.zeros(1, 2, 100))
    with pytest.raises(ValueError, match="mono chunk"):
        StreamingFeatures(SR, FPS).push(np.zeros((2, 100), np.float32))
    with pytest.raises(ValueError, match="sample_rate >= fps"):
        FeatureExtractor(10, 60)


def _devices() -> list:
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    return [
        pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")),
        pytest.param("mps", marks=pytest.mark.skipif(not has_mps, reason="no MPS")),
    ]


@pytest.mark.parametrize("device", _devices())
def test_device_matches_cpu(device):
    audio = music_like(0.5)
    cpu = FeatureExtractor(SR, FPS).extract(torch.from_numpy(audio))
    dev = FeatureExtractor(SR, FPS, device=device).extract(torch.from_numpy(audio))
    assert dev.device.type == device and dev.dtype == torch.float32
    torch.testing.assert_close(dev.cpu(), cpu, atol=1e-3, rtol=1e-3)
    stream = StreamingFeatures(SR, FPS, device=device)
    torch.testing.assert_close(torch.cat([stream.push(audio[i : i + 256]) for i in range(0, audio.size, 256)]).cpu(),
                               cpu[0], atol=1e-3, rtol=1e-3)


def test_mel_power_is_the_power_behind_the_log_mel_features():
    """The stem-share target (synesthete.data.stem_share) is made from `mel_power`: it must be the
    very STFT the log-mel features read, frame by frame, and grouping sums adjacent bands."""
    from synesthete.features import MEL_CENTER, MEL_FLOOR, MEL_SCALE

    fx = FeatureExtractor(SR, FPS, n_mels=16, n_fft=1024, n_chroma=24, fast_mels=8)
    audio = torch.from_numpy(music_like(0.5))
    power = fx.mel_power(audio)
    logmel = fx.extract(audio)[..., :16] * MEL_SCALE + MEL_CENTER
    assert power.shape == logmel.shape == (1, 30, 16)
    torch.testing.assert_close(torch.log(power + MEL_FLOOR), logmel, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(fx.mel_power(audio, groups=4), power.unflatten(-1, (4, 4)).sum(-1), rtol=1e-4, atol=1e-6)
