"""Human-written MIDI in training: the pool's pieces become clips whose truth lands on the right
frames, their unknown fields are masked out of the losses, and a bad midi_share is one line; with
varied sounds each piece plays on a drawn soundfont, half of them on an acoustic kit."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import torch

from synesthete.constants import FPS, SAMPLE_RATE, STEMS
from synesthete.data import HearingClips, HearingDataConfig
from synesthete.data.labels import LABEL_COLUMNS, field_mask, label_mask
from synesthete.data.midi_pool import MidiPool, known_labels
from synesthete.features import FeatureExtractor
from synesthete.model import HearingModel, hearing_config
from synesthete.music_state import FIELDS
from synesthete_train.cli import main as train_main
from synesthete_train.hearing import HearingLossConfig, beat_frames, hearing_losses
from synesthete.data.midi_truth import read_wav, render
from synesthete_train.drum_bank import kit_midi
from synesthete_train.midi_pool import (SOUNDFONT, VARIED_DRUM_KITS, VARIED_SOUNDFONTS, build, piece_sound, render_piece,
                                       write_index, write_piece)

BPM = 120.0
SECONDS = 16.0


def _midi_file(path: Path) -> pretty_midi.PrettyMIDI:
    """4/4 at 120 BPM after a 0.3 s lead-in of silence: a kick on every beat, a snare on 2 and 4,
    a GM bass (program 33) on every downbeat, a piano chord per bar."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=BPM)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    drums = pretty_midi.Instrument(0, is_drum=True)
    bass = pretty_midi.Instrument(33)
    piano = pretty_midi.Instrument(0)
    for k in range(int(SECONDS * BPM / 60)):
        t = k * 60.0 / BPM
        drums.notes.append(pretty_midi.Note(100, 36, t, t + 0.1))
        if k % 2 == 1:
            drums.notes.append(pretty_midi.Note(90, 38, t, t + 0.1))
        if k % 4 == 0:
            bass.notes.append(pretty_midi.Note(100, 36, t, t + 1.5))
            piano.notes.extend(pretty_midi.Note(70, p, t, t + 1.9) for p in (60, 64, 67))
    pm.instruments.extend([drums, bass, piano])
    pm.write(str(path))
    return pretty_midi.PrettyMIDI(str(path))


@pytest.fixture(scope="module")
def pool() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="midi_pool_"))
    midi = folder / "src.mid"
    pm = _midi_file(midi)
    audio = render_piece(midi, SECONDS, SAMPLE_RATE, folder)
    write_index(folder, [write_piece(folder, "test-piece", midi, pm, audio, SAMPLE_RATE, {"source": "test"})],
                SAMPLE_RATE)
    return folder


def _expected_frames(times: np.ndarray, start_s: float, n: int) -> set[int]:
    """Frames whose instants (start + (t + 1) / fps) cover each time: frame t holds (instant - 1/fps, instant]."""
    f = np.ceil((times - start_s) * FPS - 1e-9).astype(int) - 1
    return set(f[(f >= 0) & (f < n)].tolist())


def test_a_written_midi_piece_becomes_a_clip_whose_beats_bars_and_kicks_land_on_their_frames(pool):
    assert SOUNDFONT.exists()
    data = MidiPool(pool, SAMPLE_RATE)
    n = 4 * FPS
    rng = np.random.default_rng(3)
    for _ in range(3):
        audio, state, mask, piece, start = data.crop(rng, n, FPS)
        start_s = start / SAMPLE_RATE
        beats = np.arange(0, SECONDS, 60.0 / BPM)
        target = {k: torch.from_numpy(np.asarray(getattr(state, k)))[None] for k in ("beat_phase", "bar_phase", "tempo")}
        beat, downbeat = beat_frames(target, FPS)
        assert set(np.flatnonzero(beat[0].numpy()).tolist()) == _expected_frames(beats, start_s, n)
        assert set(np.flatnonzero(downbeat[0].numpy()).tolist()) == _expected_frames(beats[::4], start_s, n)
        kick = state.onset[:, STEMS.index("kick")]
        assert set(np.flatnonzero(kick).tolist()) == _expected_frames(beats, start_s, n)
        assert set(np.flatnonzero(state.onset[:, STEMS.index("snare")]).tolist()) == _expected_frames(beats[1::2], start_s, n)
        assert set(np.flatnonzero(state.onset[:, STEMS.index("bass")]).tolist()) == _expected_frames(beats[::4], start_s, n)
        assert np.allclose(state.tempo, BPM, atol=0.01)
        # the crop is the rendered piece, sample for sample
        assert np.array_equal(audio, np.asarray(piece.audio[start: start + n * (SAMPLE_RATE // FPS)], np.float32) / 32768)
        # the kick is heard where its frame says: the audio's energy jumps within that frame's hop
        hop = SAMPLE_RATE // FPS
        for f in sorted(_expected_frames(beats, start_s, n))[1:3]:
            before = np.abs(audio[(f - 2) * hop: f * hop]).max()
            after = np.abs(audio[f * hop: (f + 3) * hop]).max()
            assert after > 2 * before
    # a GM bass program plays: the bass is known; chords, melody and energy never are
    assert mask[LABEL_COLUMNS.index("onset.bass")] == 1 and mask[LABEL_COLUMNS.index("bass")] == 1
    for col in ("chord_root", "chord_quality", "energy", "melody", "env.chords", "onset.lead", "onset.fx"):
        assert mask[LABEL_COLUMNS.index(col)] == 0, col
    assert "onset.bass" not in known_labels(has_bass=False) and "onset.kick" in known_labels(has_bass=False)


def test_the_midi_share_of_a_stream_is_pool_crops_with_their_mask(pool):
    cfg = HearingDataConfig(clip_seconds=2.0, augment_prob=0.0, midi_share=0.25, midi_pool=str(pool))
    clips = HearingClips(cfg)
    assert [clips.is_midi(i) for i in range(8)] == [False, False, False, True] * 2
    midi, procedural = clips.make_item(3), clips.make_item(4)
    assert torch.equal(procedural["label_mask"], torch.ones(len(LABEL_COLUMNS)))
    assert float(field_mask(midi["label_mask"][None], "chord_root")[0]) == 0.0
    assert midi["state.beat_phase"].shape == procedural["state.beat_phase"].shape == (2 * FPS,)
    assert "label_mask" not in HearingClips(replace(cfg, midi_share=0.0)).make_item(3)  # the shipped stream as it was
    shares = HearingClips(replace(cfg, stem_share_bands=4), features=FeatureExtractor(SAMPLE_RATE, FPS, n_mels=16))
    assert float(shares.make_item(3)["stem_weight"].max()) == 0.0  # a MIDI piece has no stems: its shares teach nothing
    assert float(shares.make_item(4)["stem_weight"].max()) == 1.0


def _batch(b: int = 2, t: int = 120) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    target = {}
    for f in FIELDS[1:]:
        target[f.name] = torch.rand((b, t) if f.columns is None else (b, t, len(f.columns)), generator=g)
    target["onset"] = (target["onset"] > 0.9).float()
    target["beat_phase"] = (torch.arange(t) / 30.0 % 1.0).expand(b, t).clone()  # a beat every 30 frames
    target["bar_phase"] = (torch.arange(t) / 120.0 % 1.0).expand(b, t).clone()
    target["tempo"] = torch.full((b, t), 120.0)
    target["chord_root"] = torch.randint(0, 12, (b, t), generator=g).float()
    target["chord_quality"] = torch.randint(0, 4, (b, t), generator=g).float()
    return target


def test_a_label_mask_zeroes_the_masked_fields_losses_and_leaves_the_others():
    model = HearingModel(hearing_config("tiny", n_mels=16))
    target = _batch()
    feats = torch.randn(2, 120, model.cfg.n_features)
    mask = torch.stack([torch.ones(len(LABEL_COLUMNS)), torch.from_numpy(label_mask(known_labels(has_bass=False)))])
    raw = model(feats)
    raw = {k: v.detach().requires_grad_(True) for k, v in raw.items()}
    losses = hearing_losses(raw, target, HearingLossConfig(), FPS, label_mask=mask)
    losses["total"].backward()
    g = {k: v.grad for k, v in raw.items()}
    # the MIDI clip (row 1): nothing from the fields it does not know ...
    for head in ("chord_root", "chord_quality", "energy", "melody", "bass", "confidence"):
        assert float(g[head][1].abs().sum()) == 0.0, head
        assert float(g[head][0].abs().sum()) > 0.0, head
    for stem in ("bass", "chords", "lead", "fx"):
        j = STEMS.index(stem)
        assert float(g["onset"][1, :, j].abs().sum()) == 0.0 and float(g["env"][1, :, j].abs().sum()) == 0.0, stem
    # ... and all from those it knows
    for stem in ("kick", "snare", "hat_closed"):
        j = STEMS.index(stem)
        assert float(g["onset"][1, :, j].abs().sum()) > 0.0 and float(g["env"][1, :, j].abs().sum()) > 0.0, stem
    for head in ("beat", "downbeat", "tempo"):
        assert float(g[head][1].abs().sum()) > 0.0, head
    # a masked clip's chord loss is the known clip's alone; the beat loss still counts both
    alone = hearing_losses({k: v[:1] for k, v in raw.items()}, {k: v[:1] for k, v in target.items()},
                           HearingLossConfig(), FPS)
    for head in ("chord_root", "energy", "melody", "confidence"):
        assert torch.allclose(losses[head], alone[head]), head
    assert not torch.allclose(losses["beat"], alone["beat"])
    # every field known: the same losses as without a mask
    plain = hearing_losses(raw, target, HearingLossConfig(), FPS)
    full = hearing_losses(raw, target, HearingLossConfig(), FPS, label_mask=torch.ones(2, len(LABEL_COLUMNS)))
    assert all(torch.allclose(plain[k], full[k]) for k in plain)
    # no clip knows the chords: no chord loss at all
    none = hearing_losses(raw, target, HearingLossConfig(), FPS, label_mask=mask[1:].expand(2, -1))
    assert float(none["chord_root"].detach()) == 0.0 and float(none["confidence"].detach()) == 0.0


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan"])
def test_a_bad_midi_share_is_one_line(value, capsys):
    assert train_main([f"data.midi_share={value}", "--print-config"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "data.midi_share must be in [0, 1]" in err, err


def test_a_pool_piece_becomes_an_evaluation_excerpt_with_its_truth_from_the_first_note(pool):
    from synesthete.hearing_evaluation import midi_pool_items

    (item,) = midi_pool_items(pool, SAMPLE_RATE, 8.0)
    piece = MidiPool(pool, SAMPLE_RATE).pieces[0]
    t0 = piece.first_sample / SAMPLE_RATE
    assert item.source == "test-piece" and item.audio.shape == (8 * SAMPLE_RATE,) and item.audio.dtype == np.float32
    np.testing.assert_allclose(item.audio[:1000], piece.audio[piece.first_sample: piece.first_sample + 1000] / 32768.0)
    beats = np.arange(0.0, SECONDS, 60.0 / BPM) - t0
    np.testing.assert_allclose(item.truth.beats, beats[(beats >= 0) & (beats < 8.0)], atol=1e-4)
    np.testing.assert_allclose(item.truth.onsets["kick"][0], item.truth.beats, atol=1e-4)  # a kick on every beat
    assert len(item.truth.onsets["snare"][0]) == len(item.truth.beats) // 2
    assert len(item.truth.onsets["lead"][0]) == 0  # a stem the file does not name: no hits
    # a piece shorter than the excerpt is padded with silence
    (long,) = midi_pool_items(pool, SAMPLE_RATE, SECONDS + 4.0)
    assert long.audio.shape == (int((SECONDS + 4.0) * SAMPLE_RATE),) and not long.audio[-SAMPLE_RATE:].any()


def test_a_missing_pool_is_one_line(tmp_path, capsys):
    assert train_main(["--max-steps", "1", "--out", str(tmp_path / "run"), "--no-progress", "data.midi_share=0.25",
                       f'data.midi_pool="{tmp_path / "none"}"', "data.midi_pool_mma_songs=0", "eval.n_seeds=0",
                       "eval.calibrate_seeds=0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no MIDI pool at" in err and "synesthete-midi-pool" in err, err


def test_varied_sounds_draw_a_soundfont_and_maybe_an_acoustic_kit_per_piece_the_same_every_build():
    names = [f"mma-{i:03d}-x" for i in range(60)]
    sounds = [piece_sound(n, "varied") for n in names]
    assert sounds == [piece_sound(n, "varied") for n in names]  # drawn from the name: every build alike
    assert {font for font, _ in sounds} == set(VARIED_SOUNDFONTS)
    assert {kit for _, kit in sounds} == {None, *VARIED_DRUM_KITS}
    assert 15 <= sum(kit is not None for _, kit in sounds) <= 45
    assert all(piece_sound(n, "timgm6mb") == (SOUNDFONT, None) for n in names)
    with pytest.raises(ValueError, match="sounds must be one of timgm6mb, varied"):
        build(Path(tempfile.mkdtemp()), sounds="fluid")


def test_an_acoustic_kit_stacked_over_a_soundfont_plays_channel_10s_standard_kit_and_nothing_else(tmp_path):
    avl = VARIED_DRUM_KITS[0]
    kit_midi(tmp_path / "gm.mid", 128, 0, (36, 38))  # channel 10, standard kit
    kit_midi(tmp_path / "avl.mid", 0, 0, (36, 38))  # the drum-only soundfont on its own melodic preset
    render(tmp_path / "gm.mid", tmp_path / "stacked.wav", SOUNDFONT, SAMPLE_RATE, drum_kit=avl)
    render(tmp_path / "avl.mid", tmp_path / "alone.wav", avl, SAMPLE_RATE)
    render(tmp_path / "gm.mid", tmp_path / "plain.wav", SOUNDFONT, SAMPLE_RATE)
    assert not list(tmp_path.glob("*.fluidsynth"))  # the command file that stacked the kit is gone
    stacked, alone, plain = (read_wav(tmp_path / f"{n}.wav")[0].mean(axis=1) for n in ("stacked", "alone", "plain"))
    n = min(stacked.shape[0], alone.shape[0])
    assert np.corrcoef(stacked[:n], alone[:n])[0, 1] > 0.99  # the kick and snare are AVL's
    n = min(stacked.shape[0], plain.shape[0])
    assert abs(np.corrcoef(stacked[:n], plain[:n])[0, 1]) < 0.5  # not TimGM6mb's
    # a piano on channel 1 stays the soundfont's piano: the kit took program 0 of bank 128 only
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    piano = pretty_midi.Instrument(program=0)
    piano.notes.append(pretty_midi.Note(100, 60, 0.5, 1.5))
    pm.instruments.append(piano)
    pm.write(str(tmp_path / "piano.mid"))
    render(tmp_path / "piano.mid", tmp_path / "p1.wav", SOUNDFONT, SAMPLE_RATE, drum_kit=avl)
    render(tmp_path / "piano.mid", tmp_path / "p2.wav", SOUNDFONT, SAMPLE_RATE)
    assert np.array_equal(read_wav(tmp_path / "p1.wav")[0], read_wav(tmp_path / "p2.wav")[0])
