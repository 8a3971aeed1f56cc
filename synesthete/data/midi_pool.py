"""A pool of human-written MIDI pieces, rendered once, cropped into hearing clips with the truth the
file gives (`HearingClips` with `midi_share` > 0).

The pool is a folder that `synesthete-midi-pool` (synesthete_train.midi_pool) builds: NAME.npy (the
piece rendered at the model's sample rate, mono int16) and NAME.json (its truth, read from the MIDI
by synesthete.data.midi_truth) per piece, and index.json. A crop is cheap: a slice of a memory-mapped
array; its truth is the `Score` of the piece's events, whose exact `MusicState` (the same function
as the procedural clips', same causal timing: frame t stands for the crop's start + (t + 1) / fps)
is taken at the crop's start sample, so the labels are sample-exact.

What a MIDI file cannot give is masked (synesthete.data.labels): chords, energy, melody, and the
chords / lead / fx stems; the bass stem and pitch unless a GM bass program plays (`known` in the
truth file). The drum stems are always known: a piece without channel 10 has no drum hits, and that
is truth too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synesthete.constants import STEMS
from synesthete.data.labels import label_mask
from synesthete.music_state import MusicState

POOL_INDEX = "index.json"
DRUM_KNOWN = ("kick", "snare", "hat_closed", "hat_open", "perc")
RHYTHM_KNOWN = ("beat_phase", "bar_phase", "beat_count", "tempo")


def known_labels(has_bass: bool) -> tuple[str, ...]:
    """The label columns a MIDI piece's truth gives (synesthete.data.labels names)."""
    stems = (*DRUM_KNOWN, "bass") if has_bass else DRUM_KNOWN
    return (*RHYTHM_KNOWN, *(f"{f}.{s}" for f in ("env", "onset") for s in stems), *(("bass",) if has_bass else ()))


@dataclass
class MidiPiece:
    name: str
    audio: np.ndarray  # (S,) int16, memory-mapped
    truth: dict
    score: object  # synesthete.audio.score.Score of the whole piece
    mask: np.ndarray  # (len(LABEL_COLUMNS),) float32
    first_sample: int  # crops start at or after the first note
    has_drums: bool  # channel 10 plays


def piece_score(truth: dict, sample_rate: int):
    """The `Score` of a piece's truth: beats, downbeats, the known stems' onsets (velocity / 127)
    and the bass notes (their durations set the bass envelope, their pitches the bass field)."""
    from synesthete.audio.score import Note, Score

    beats = np.asarray(truth["beats"], np.float64)
    onsets = {s: (np.zeros(0), np.zeros(0)) for s in STEMS}
    for stem, hits in truth["onsets"].items():
        a = np.asarray(hits, np.float64).reshape(-1, 2)
        onsets[stem] = (a[:, 0], a[:, 1])
    notes = [Note("bass", int(p), float(s), float(d), float(v)) for s, d, p, v in truth["bass_notes"]]
    tempo = 60.0 / float(np.median(np.diff(beats))) if beats.size > 1 else 120.0
    return Score(sample_rate=sample_rate, duration=float(truth["duration_s"]), tempo=tempo, swing=0.0, key=0,
                 scale="", beat_times=beats, downbeat_times=np.asarray(truth["downbeats"], np.float64),
                 onsets=onsets, notes=notes, beats_per_bar=int(truth.get("beats_per_bar", 4)))


class MidiPool:
    """The pieces of a built pool folder (see the module docstring)."""

    def __init__(self, folder: str | Path, sample_rate: int, key: str = "data.midi_pool") -> None:
        """`key`: the config key the folder came from, named by every error (one line each)."""
        folder = Path(folder)
        index = folder / POOL_INDEX
        if not index.is_file():
            raise ValueError(f"{key}: no MIDI pool at {folder} (build it: uv run --locked "
                             f"synesthete-midi-pool --out {folder})")
        meta = json.loads(index.read_text())
        if int(meta["sample_rate"]) != sample_rate:
            raise ValueError(f"{key}: {folder} is rendered at {meta['sample_rate']} Hz, the model hears "
                             f"{sample_rate} Hz (rebuild it with --sample-rate {sample_rate})")
        self.folder = folder
        self.sample_rate = sample_rate
        self.pieces: list[MidiPiece] = []
        for entry in meta["pieces"]:
            truth = json.loads((folder / entry["truth"]).read_text())
            audio = np.load(folder / entry["audio"], mmap_mode="r")
            first = int(round(float(truth["first_note_s"]) * sample_rate))
            drums = any(truth["onsets"].get(s) for s in DRUM_KNOWN)
            self.pieces.append(MidiPiece(entry["name"], audio, truth, piece_score(truth, sample_rate),
                                         label_mask(known_labels(bool(truth["has_bass"]))), first, drums))
        if not self.pieces:
            raise ValueError(f"{key}: {folder} holds no pieces")

    def crop(self, rng: np.random.Generator, n_frames: int, fps: int
             ) -> tuple[np.ndarray, MusicState, np.ndarray, MidiPiece, int]:
        """A random piece's random crop of n_frames: (audio (n_frames * hop,) float32, its exact
        MusicState, its label mask, the piece, the crop's first sample). Half the crops come from the
        pieces with drums and half from those without (when the pool has both: free MIDI with drums is
        scarce, and the dev set's music has drums), each piece of a half drawn uniformly, the start
        sample uniformly after its first note."""
        drums = [p for p in self.pieces if p.has_drums]
        others = [p for p in self.pieces if not p.has_drums]
        group = (drums if rng.random() < 0.5 else others) if drums and others else self.pieces
        piece = group[int(rng.integers(len(group)))]
        n = n_frames * (self.sample_rate // fps)
        last = max(piece.first_sample, piece.audio.shape[0] - n)
        start = int(rng.integers(piece.first_sample, last + 1))
        audio = np.zeros(n, np.float32)
        part = np.asarray(piece.audio[start: start + n], np.float32) / 32768.0
        audio[: part.shape[0]] = part
        state = piece.score.music_state(fps, n_frames, start_time=start / self.sample_rate)
        return audio, state, piece.mask, piece, start
