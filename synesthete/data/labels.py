"""Which parts of a clip's music state are known: the per-clip label mask of a training batch.

A procedural clip knows every field (its score made the music). A clip of a human-written MIDI
piece (synesthete.data.midi_pool) knows its beats, bars, tempo and the stems the file names (drums
on channel 10, a GM bass program) but no chords, energy or melody: those fields' losses must leave
it out rather than teach the model that such music has no chords. The mask is one row per clip,
one column per `LABEL_COLUMNS` entry (1 = known), so cropping a clip in time keeps it as it is.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch

from synesthete.music_state import FIELDS

# Every MusicState field but time and confidence (the confidence head's target is derived from the
# others), one column per field column: "env.kick", ..., "beat_phase", "tempo", ...
LABEL_FIELDS = tuple(f for f in FIELDS if f.name not in ("time", "confidence"))
LABEL_COLUMNS: tuple[str, ...] = tuple(f"{f.name}.{c}" if f.columns else f.name
                                       for f in LABEL_FIELDS for c in (f.columns or (None,)))


def label_mask(known: Iterable[str]) -> np.ndarray:
    """(len(LABEL_COLUMNS),) float32: 1 on the known columns. `known` names whole fields ("tempo",
    "env": every stem) or single columns ("env.kick"); an unknown name is an error."""
    out = np.zeros(len(LABEL_COLUMNS), np.float32)
    for name in known:
        hit = [i for i, c in enumerate(LABEL_COLUMNS) if c == name or c.startswith(name + ".")]
        if not hit:
            raise ValueError(f"label_mask: {name!r} is no MusicState field or column ({', '.join(LABEL_COLUMNS)})")
        out[hit] = 1.0
    return out


def field_mask(mask: torch.Tensor, name: str) -> torch.Tensor:
    """A batch's (B, columns) mask -> field `name`'s part: (B, its columns), or (B,) for a one-value field."""
    spec = next(f for f in LABEL_FIELDS if f.name == name)
    if spec.columns is None:
        return mask[:, LABEL_COLUMNS.index(name)]
    first = LABEL_COLUMNS.index(f"{name}.{spec.columns[0]}")
    return mask[:, first: first + len(spec.columns)]


def group_mask(mask: torch.Tensor, group: str) -> torch.Tensor:
    """(B,): 1 where every field of confidence group `group` is known (its correctness can be judged)."""
    cols = [i for i, c in enumerate(LABEL_COLUMNS)
            if next(f for f in LABEL_FIELDS if f.name == c.split(".")[0]).group == group]
    return mask[:, cols].min(dim=1).values if cols else torch.ones(mask.shape[0], device=mask.device)
