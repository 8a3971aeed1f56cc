"""The infinite dataset: endless, deterministic per seed, distinct per worker, nothing on disk."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.utils.data import DataLoader

from synesthete.constants import STEMS
from synesthete.data import DataConfig, ProceduralClips

SMALL = DataConfig(clip_seconds=0.5, height=16, width=16)


def take(loader, n):
    return list(itertools.islice(iter(loader), n))


def test_an_item_has_audio_frames_and_targets_of_matching_lengths():
    item = ProceduralClips(SMALL).make_item(0)
    t = SMALL.n_frames
    assert item["audio"].shape == (t * SMALL.hop,) and item["audio"].dtype == torch.float32
    assert item["frames"].shape == (t, 3, 16, 16) and item["frames"].dtype == torch.uint8
    assert item["beat_phase"].shape == (t,) and item["onset"].shape == (t, len(STEMS))
    assert torch.isfinite(item["audio"]).all() and item["audio"].abs().max() <= 1.0
    assert item["style"].sum().item() == pytest.approx(1.0, abs=1e-5)
    assert SMALL.reactivity_min <= item["reactivity"].item() <= SMALL.reactivity_max


def test_the_same_base_seed_gives_the_same_stream():
    a = take(DataLoader(ProceduralClips(SMALL), batch_size=None), 3)
    b = take(DataLoader(ProceduralClips(SMALL), batch_size=None), 3)
    for x, y in zip(a, b):
        assert torch.equal(x["audio"], y["audio"]) and torch.equal(x["frames"], y["frames"])


def test_another_base_seed_gives_another_stream():
    a = ProceduralClips(SMALL).make_item(0)
    b = ProceduralClips(DataConfig(clip_seconds=0.5, height=16, width=16, seed=1)).make_item(0)
    assert not torch.equal(a["audio"], b["audio"])


def test_workers_never_repeat_a_clip_and_the_stream_matches_single_process():
    single = take(DataLoader(ProceduralClips(SMALL), batch_size=None, num_workers=0), 4)
    multi = take(DataLoader(ProceduralClips(SMALL), batch_size=None, num_workers=2), 4)
    assert [int(x["index"]) for x in multi] == [0, 1, 2, 3]
    for x, y in zip(single, multi):
        assert torch.equal(x["audio"], y["audio"])
    audios = [x["audio"] for x in multi]
    assert all(not torch.equal(audios[i], audios[j]) for i in range(4) for j in range(i + 1, 4))


def test_start_index_resumes_the_stream():
    full = take(DataLoader(ProceduralClips(SMALL), batch_size=None), 3)
    resumed = take(DataLoader(ProceduralClips(SMALL, start_index=2), batch_size=None), 1)
    assert torch.equal(full[2]["audio"], resumed[0]["audio"])


def test_batches_stack():
    batch = next(iter(DataLoader(ProceduralClips(SMALL), batch_size=3)))
    assert batch["frames"].shape[:2] == (3, SMALL.n_frames)


@pytest.mark.parametrize("kwargs, message", [
    ({"clip_seconds": 0}, "clip_seconds"),
    ({"clip_seconds": -1.0}, "clip_seconds"),
    ({"fps": 7}, "fps"),
    ({"height": 2}, "height"),
    ({"augment_prob": 2.0}, "augment_prob"),
])
def test_bad_settings_raise_one_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataConfig(**kwargs)


def test_unknown_style_lists_the_known_ones():
    with pytest.raises(ValueError, match="known styles"):
        ProceduralClips(DataConfig(styles=("no_such_style",)))


def test_frame_pairs_draw_exactly_those_frames_of_the_whole_clip():
    from dataclasses import replace

    whole = ProceduralClips(SMALL).make_item(5)
    paired = ProceduralClips(replace(SMALL, frame_pairs=3)).make_item(5)
    idx = paired["frame_index"]
    assert idx.shape == (6,) and torch.equal(idx[1::2], idx[0::2] + 1)
    assert len(set(idx[0::2].tolist())) == 3
    assert torch.equal(paired["audio"], whole["audio"])
    # Same item seed -> same style and reactivity, so the drawn frames are the whole clip's frames.
    assert torch.equal(paired["style"], whole["style"])
    assert torch.equal(paired["frames"], whole["frames"][idx])


def test_onset_pairs_end_on_onsets_and_are_still_the_whole_clips_frames():
    from dataclasses import replace

    cfg = replace(SMALL, clip_seconds=2.0, frame_pairs=4, onset_pairs=3)
    whole = ProceduralClips(replace(cfg, frame_pairs=0, onset_pairs=0)).make_item(7)
    item = ProceduralClips(cfg).make_item(7)
    idx = item["frame_index"]
    assert torch.equal(idx[1::2], idx[0::2] + 1) and len(set(idx[0::2].tolist())) == 4
    on_onset = whole["onset"].amax(dim=-1)[idx[1::2]] > 0  # does each pair end on an onset frame?
    assert int(whole["onset"].amax(dim=-1)[1:].gt(0).sum()) >= 3  # the clip has enough of them
    assert on_onset.sum() >= 3
    assert torch.equal(item["frames"], whole["frames"][idx])
    # Without onset_pairs the draw is the one every earlier run made: about 1 pair in 9 on an onset.
    plain = [ProceduralClips(replace(cfg, onset_pairs=0)).make_item(i) for i in range(12)]
    hits = sum(int((p["onset"].amax(dim=-1)[p["frame_index"][1::2]] > 0).sum()) for p in plain)
    assert hits <= 12  # (with onset_pairs = 3 it would be >= 36)


def test_onset_pairs_cannot_outnumber_the_pairs():
    with pytest.raises(ValueError, match="data.onset_pairs must be in"):
        DataConfig(frame_pairs=2, onset_pairs=3)


def test_items_can_carry_their_features_made_where_the_item_is_made():
    # Training on the CPU, the data workers compute the model's input features: exactly what the
    # feature extractor gives for the item's (augmented) audio, the rest of the item unchanged.
    from synesthete.features import FeatureExtractor

    fx = FeatureExtractor(SMALL.sample_rate, SMALL.fps, n_chroma=24, chroma_fft=8192)
    plain = ProceduralClips(SMALL).make_item(3)
    item = ProceduralClips(SMALL, features=fx).make_item(3)
    assert item["features"].shape == (SMALL.n_frames, fx.n_features) and item["features"].dtype == torch.float32
    torch.testing.assert_close(item["features"], fx.extract(plain["audio"])[0], rtol=0, atol=0)
    assert set(item) - set(plain) == {"features"}
    for key, value in plain.items():
        assert torch.equal(item[key], value), key

