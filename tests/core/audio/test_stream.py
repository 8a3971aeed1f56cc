"""MusicStream: endless, read-size independent, seamless at block and chunk boundaries."""

import numpy as np
import pytest

from synesthete.audio.engine import make_song, render_span
from synesthete.audio.stream import MusicStream


def test_block_reads_equal_one_shot_read_for_any_block_sizes():
    n = 24000 * 7
    whole = MusicStream(21).read(n)
    s, rng, parts, got = MusicStream(21), np.random.default_rng(0), [], 0
    while got < n:
        k = int(min(rng.choice([1, 7, 256, 1000, 30011]), n - got))
        parts.append(s.read(k))
        got += k
    assert np.array_equal(whole, np.concatenate(parts))
    assert whole.dtype == np.float32 and np.all(np.isfinite(whole)) and np.max(np.abs(whole)) < 1.0


def test_no_jumps_at_block_boundaries():
    s = MusicStream(4, sample_rate=16000)
    x = np.concatenate([s.read(256) for _ in range(16000 * 12 // 256)])
    jumps = np.abs(np.diff(x))
    at_blocks = jumps[np.arange(255, x.shape[0] - 1, 256)]
    assert at_blocks.max() <= max(0.5, np.percentile(jumps, 99.99))  # no worse than the music itself
    assert np.sqrt(np.mean(x**2)) > 1e-3  # it is actually playing


def test_chunks_overlap_add_to_the_same_audio_as_one_long_render():
    """The stream renders a few bars at a time; the seams must not be audible: chunk-by-chunk
    overlap-add equals rendering the same bars in one go (up to the STFT filters' framing)."""
    song = make_song(6, drift=0.0)  # a drifting song's seams: test_engine_range.py
    whole = render_span(song, 0, 4, 24000).audio[0]
    parts = np.zeros(whole.shape[0] + 24000 * 8, np.float32)
    for lo in range(4):
        span = render_span(song, lo, lo + 1, 24000)
        parts[span.start_sample : span.start_sample + span.audio.shape[1]] += span.audio[0]
    n = render_span(song, 0, 4, 24000).n_body
    err = np.abs(parts[:n] - whole[:n])
    assert err.max() < 0.02 * np.abs(whole[:n]).max()


def test_endless_and_seeded():
    a, b = MusicStream(1), MusicStream(2)
    for _ in range(3):  # well past the first sections
        xa, xb = a.read(24000 * 10), b.read(24000 * 10)
    assert not np.array_equal(xa, xb) and np.sqrt(np.mean(xa**2)) > 1e-4
    score = a.score_so_far()
    assert score.duration == pytest.approx(30.0) and len(score.sections) >= 2 and len(score.beat_times) > 30


def test_block_size_is_the_default_read_and_bad_args_raise():
    assert MusicStream(0, block_size=128).read().shape == (128,)
    with pytest.raises(ValueError, match="sample_rate"):
        MusicStream(0, sample_rate=100)
    with pytest.raises(ValueError, match="block_size"):
        MusicStream(0, block_size=0)
    with pytest.raises(ValueError, match="n must be"):
        MusicStream(0).read(-5)


def test_the_streams_music_state_is_the_scores_computed_a_stretch_at_a_time():
    """music_state(fps, first, n) as the demo source calls it (each stretch once it is composed)
    equals the state of the whole score so far (envelopes to 0.01: events older than
    STATE_HISTORY_S are dropped, a pad's long tail among them)."""
    from synesthete.music_state import FIELDS, MusicState

    fps, s, parts, done = 60, MusicStream(3), [], 0  # seed 3's tempo drifts: the grid is the song's own clock
    while done < 40 * fps:
        s.read(4800)
        ready = s.state_frames_ready(fps)
        if ready > done:
            parts.append(s.music_state(fps, done, ready - done))
            done = ready
    # The score so far knows events and beats up to the read position only: its last second lacks
    # the next beat its phases and tempo interpolate to, so the comparison stops a second before.
    n = int(s.position / s.sample_rate * fps) - 1 - fps
    got, want = MusicState.concat(parts).slice(0, n), s.score_so_far().music_state(fps, n)
    for f in FIELDS:
        tol = 0.01 if f.name == "env" else 1e-4
        np.testing.assert_allclose(getattr(got, f.name), getattr(want, f.name), atol=tol, err_msg=f.name)
    with pytest.raises(ValueError, match="rendered to"):
        s.music_state(fps, done, 1)  # not composed yet
