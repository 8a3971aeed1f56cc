"""Sampled drum kits: recorded one-shots that the engine plays instead of its synthesised drums.

Why: the engine's drums are synthesised (a sine sweep for a kick, filtered noise for a snare), and
a model trained longer on them learns those sounds, not drums: on human-written music rendered with
General MIDI samples it then loses the beat (docs/training.md "Sampled drum kits"). Real music
plays recorded drums. A bank holds the General MIDI percussion notes of several drum kits,
rendered once from five soundfonts by `synesthete-drum-bank` (synesthete_train.drum_bank: TimGM6mb,
csound's GM bank, AVL's two acoustic kits, an OPL3 FM kit; none the dev set's FluidR3) into one
.npz; `DrumBank.kit(rng)` draws a song's kit from it (a soundfont, then one of its kits), and
`render_clip(..., drum_kit=kit)` plays it. The score is the same: a hit starts where its note-on
is, as in a MIDI file rendered by a synthesiser (so the labels keep the dev set's convention).

The bank file: one int16 array per (kit, note) named "KIT/NOTE" (KIT a GM drum-kit program,
NOTE a GM percussion note; KIT numbers the kits over all the soundfonts) at the sample rate in
"sample_rate", plus "kit_names" ("SOUNDFONT: PRESET"), "kit_font" (each kit's soundfont, an index;
a bank of one soundfont may lack it) and "source" (the soundfonts and their packages).
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

# The engine's drum instruments (synesthete.audio.instruments) -> the GM percussion notes that can
# play them. Perc families: a song's perc plays one family, its pitches spread over the notes.
KIT_NOTES: dict[str, tuple[int, ...]] = {
    "kick": (35, 36),  # acoustic, bass drum 1
    "snare": (38, 40),  # acoustic, electric
    "clap": (39,),
    "hat": (42,),  # closed (44, the pedal hat, is too soft to stand for the engine's hat)
    "open_hat": (46,),
}
PERC_FAMILIES: tuple[tuple[int, ...], ...] = (
    (41, 43, 45, 47, 48, 50),  # toms, low to high
    (64, 63, 62),  # congas: low, open high, mute high
    (61, 60),  # bongos: low, high
    (56,),  # cowbell
    (75,),  # claves
    (77, 76),  # wood blocks: low, high
    (54,),  # tambourine
)
BANK_NOTES: tuple[int, ...] = tuple(sorted({n for ns in KIT_NOTES.values() for n in ns}
                                           | {n for f in PERC_FAMILIES for n in f}))
DRUM_INSTRUMENTS: tuple[str, ...] = (*KIT_NOTES, "perc")

def check_kit(kit: object) -> dict[str, tuple[np.ndarray, ...]]:
    """The kit as render_clip takes it, or one ValueError line saying what is wrong.

    A song's drum kit maps a drum instrument to its one-shots (float32, at the engine's sample
    rate); an event's pitch picks one (pitch modulo the count), so a perc pattern's pitches stay
    distinct."""
    if not isinstance(kit, Mapping) or not kit:
        raise ValueError(f"drum_kit must be a non-empty mapping of drum instrument -> one-shots, got {type(kit).__name__}")
    bad = [k for k in kit if k not in DRUM_INSTRUMENTS]
    if bad:
        raise ValueError(f"drum_kit has unknown instrument(s) {bad}; allowed: {', '.join(DRUM_INSTRUMENTS)}")
    out = {}
    for name, shots in kit.items():
        shots = tuple(np.asarray(s, np.float32) for s in shots)
        if not shots or any(s.ndim != 1 or s.shape[0] == 0 or not np.isfinite(s).all() for s in shots):
            raise ValueError(f"drum_kit[{name!r}] must be a non-empty sequence of finite 1-D sample arrays")
        out[name] = shots
    return out


class DrumBank:
    """The drum kits of a bank file; `kit(rng)` draws one song's kit."""

    def __init__(self, path: str | Path, sample_rate: int) -> None:
        path = Path(path)
        if not path.is_file():  # ValueError: the CLIs print it as one line
            raise ValueError(f"data.drum_bank: no drum bank at {path} (build it: uv run --locked "
                             f"synesthete-drum-bank --out {path})")
        try:
            with np.load(path) as z:
                rate = int(z["sample_rate"])
                self.source = str(z["source"])
                # which soundfont each kit came from (a bank of one soundfont has no "kit_font")
                kit_font = z["kit_font"].tolist() if "kit_font" in z.files else None
                shots: dict[int, dict[int, np.ndarray]] = {}
                for key in z.files:
                    if "/" in key:
                        program, note = (int(x) for x in key.split("/"))
                        shots.setdefault(program, {})[note] = z[key].astype(np.float32) / 32768.0
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            raise ValueError(f"data.drum_bank: {path} is not a drum bank ({type(e).__name__}: {e}); "
                             f"rebuild it with synesthete-drum-bank") from e
        if rate != sample_rate:
            raise ValueError(f"data.drum_bank: {path} is at {rate} Hz, the model hears {sample_rate} Hz "
                             f"(rebuild it: synesthete-drum-bank --sample-rate {sample_rate})")
        # A kit plays if it has a kick and a snare; an instrument whose notes it lacks (a drum-only
        # soundfont's clap and hand percussion) keeps the engine's synthesis in its songs.
        self.kits = {p: notes for p, notes in sorted(shots.items())
                     if all(any(n in notes for n in KIT_NOTES[name]) for name in ("kick", "snare"))}
        if not self.kits:
            raise ValueError(f"data.drum_bank: {path} holds no complete drum kit")
        # a song draws a soundfont, then one of its kits: csound's bank does not outvote AVL's single
        # acoustic kits by having ten presets (many of which share TimGM6mb's samples)
        fonts: dict[int, list[int]] = {}
        for p in self.kits:
            fonts.setdefault(kit_font[p] if kit_font is not None and p < len(kit_font) else 0, []).append(p)
        self.fonts = [fonts[f] for f in sorted(fonts)]

    def kit(self, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, ...]]:
        """A song's kit: one soundfont, one of its kits, one note per instrument, one perc family
        (an instrument the kit lacks is left out: the song synthesises it)."""
        programs = self.fonts[int(rng.integers(len(self.fonts)))]
        notes = self.kits[programs[int(rng.integers(len(programs)))]]
        out = {}
        for name, choices in KIT_NOTES.items():
            have = [n for n in choices if n in notes]
            if have:
                out[name] = (notes[have[int(rng.integers(len(have)))]],)
        families = [f for f in PERC_FAMILIES if all(n in notes for n in f)]
        if families:
            out["perc"] = tuple(notes[n] for n in families[int(rng.integers(len(families)))])
        return out
