"""Synesthete's procedural music engine: a seed becomes an endless, varied piece of electronic
music (drums, bass, chords, lead, effects; tempo, key, groove, sections) plus its exact score.

    from synesthete.audio.engine import render_clip      # seed -> Clip(audio, score, stems)
    from synesthete.audio.stream import MusicStream      # endless block-by-block audio
    from synesthete.audio.instruments import synth_note  # one note of a named instrument
    from synesthete.audio.augment import MicAugment      # "microphone in a club" degradations

Modules: theory (scales, chords), composer (song plan and per-bar events), oscillators,
envelopes, effects (filters, delay, reverb), instruments, engine (mixer + render_clip),
score (types), controls (per-frame control signals), stream, augment. See docs/audio_inputs.md.
"""
