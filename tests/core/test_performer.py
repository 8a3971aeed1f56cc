"""Performer: the one streaming path (features -> hearing.step -> music state -> look -> effects).
Chunking never changes the picture, a replay equals the live run, every frame knows when its
newest sample was captured and carries its music state, skipped frames change nothing that is
drawn, and beats are flagged on the frame they land."""

import numpy as np
import pytest
import torch

from synesthete.audio.engine import render_clip as render_music
from synesthete.performer import Frame, Performer, ScoreHearing, render_clip

SR, FPS = 24_000, 60
HOP = SR // FPS
SIZE = (36, 64)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # As the live app runs: per-frame steps are tiny, intra-op threads only add contention.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def song():
    clip = render_music(3, 3.0, sample_rate=SR)
    return clip.audio.reshape(-1).astype(np.float32), clip.score.music_state(FPS, int(3.0 * FPS))


def performer(song, **kw) -> Performer:
    return Performer(ScoreHearing(song[1]), render_size=SIZE, **kw)


def test_frames_are_uint8_images_at_the_render_size_and_carry_their_state(song):
    p = performer(song)
    frames = p.process(song[0][: int(0.5 * SR)], p.new_controls())
    assert len(frames) == int(0.5 * SR) // HOP
    f = frames[7]
    assert isinstance(f, Frame) and f.image.dtype == np.uint8 and f.image.shape == SIZE + (3,)
    assert len(f.state) == 1 and f.state.time[0] == pytest.approx(8 / FPS)
    np.testing.assert_array_equal(f.state.env[0], song[1].env[7])
    p.set_render_size((24, 40))
    assert p.process(song[0][: HOP], p.new_controls())[0].image.shape == (24, 40, 3)


def test_the_picture_is_bright_and_saturated_when_the_music_plays(song):
    p = performer(song)
    img = np.stack([f.image for f in p.process(song[0], p.new_controls())]).astype(float)
    spread = img.max(axis=-1) - img.min(axis=-1)  # per-pixel chroma
    assert img.max() > 200 and np.percentile(spread, 99) > 80


def test_any_chunking_gives_the_same_frames(song):
    audio = song[0][: SR]
    whole = render_clip(performer(song), audio, performer(song).new_controls())
    p = performer(song)
    controls = p.new_controls()
    rng = np.random.default_rng(1)
    out, i = [], 0
    while i < audio.size:
        n = int(rng.integers(1, 1500))  # like a live loop reading whatever arrived
        out.extend(f.image for f in p.process(audio[i : i + n], controls))
        i += n
    assert np.stack(out).shape == whole.shape == (audio.size // HOP,) + SIZE + (3,)
    assert np.abs(np.stack(out).astype(int) - whole.astype(int)).max() <= 1


def test_frames_left_undrawn_change_nothing_that_is_drawn(song):
    audio = song[0][: SR]
    every = render_clip(performer(song), audio, performer(song).new_controls())
    p = performer(song)
    controls = p.new_controls(strobe=1.0)
    ref = performer(song)
    ref_frames = ref.process(audio, ref.new_controls(strobe=1.0))
    frames = p.process(audio, controls, draw=lambda i: i % 2 == 1)
    assert [f.image is None for f in frames[:4]] == [True, False, True, False]
    for f, r in zip(frames, ref_frames):
        if f.image is not None:
            np.testing.assert_array_equal(f.image, r.image)
    last = performer(song).process(audio[: 5 * HOP], performer(song).new_controls(), draw="last")
    assert [f.image is None for f in last] == [True] * 4 + [False]
    np.testing.assert_array_equal(last[-1].image, every[4])


def test_a_replay_of_logged_control_events_equals_the_live_run(song):
    audio = song[0][: SR]
    p = performer(song)
    controls = p.new_controls()
    script = {5: {"op": "set", "name": "hue", "value": 0.4}, 17: {"op": "set", "name": "mirror", "value": 3},
              23: {"op": "set", "name": "style", "value": 1.0}, 40: {"op": "toggle", "name": "freeze"}}
    log, out, i = [], [], 0
    while i < audio.size:  # live: events land between process() calls, logged at frames_done
        if p.frames_done in script and not any(f == p.frames_done for f, _ in log):
            event = script[p.frames_done]
            controls.apply(event)
            log.append((p.frames_done, event))
        out.extend(f.image for f in p.process(audio[i : i + 250], controls))
        i += 250
    replay = render_clip(performer(song), audio, performer(song).new_controls(), log)
    assert len(log) >= 3
    assert np.abs(np.stack(out).astype(int) - replay.astype(int)).max() <= 1
    plain = render_clip(performer(song), audio, performer(song).new_controls())
    assert not np.array_equal(plain, replay), "the events did change the picture"


def test_each_frame_carries_the_capture_time_of_its_newest_sample(song):
    p = performer(song)
    frames = p.process(np.zeros(HOP * 2 + 100, np.float32), p.new_controls(), newest_capture_time=10.0)
    # frame 0 ends at sample HOP, frame 1 at 2*HOP; 100 newer samples came after frame 1.
    assert frames[1].capture_time == pytest.approx(10.0 - 100 / SR)
    assert frames[0].capture_time == pytest.approx(10.0 - (HOP + 100) / SR)
    assert p.process(np.zeros(10, np.float32), p.new_controls(), 11.0) == [], "no complete hop, no frame"


def kicks(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    n = int(seconds * SR)
    x = 0.2 * np.sin(2 * np.pi * 220 * np.arange(n) / SR) + 0.05 * rng.standard_normal(n)
    for beat in np.arange(0.1, seconds, 0.5):  # a kick every half second
        i = int(beat * SR)
        k = np.arange(min(3000, n - i))
        x[i : i + k.size] += 0.9 * np.sin(2 * np.pi * 55 * k / SR) * np.exp(-k / 900)
    return x.astype(np.float32)


def test_kicks_are_flagged_on_the_frame_they_land_and_silence_has_none(song):
    p = performer(song)
    frames = p.process(kicks(3.0), p.new_controls(), draw=False)
    beats = [f.index for f in frames if f.beat]
    expected = [int(t * SR) // HOP for t in np.arange(0.1, 3.0, 0.5)]
    assert len(beats) == len(expected)
    assert all(0 <= b - e <= 1 for b, e in zip(beats, expected)), (beats, expected)
    quiet = performer(song)
    assert not any(f.beat for f in quiet.process(np.zeros(SR, np.float32), quiet.new_controls(), draw=False))


def test_blackout_control_reaches_the_picture(song):
    p = performer(song)
    frames = p.process(song[0][: SR // 5], p.new_controls(blackout=1.0))
    assert frames[-1].image.max() == 0


def test_the_looks_change_colour_once_a_new_chord_has_been_heard_for_a_tenth_of_a_second():
    from synesthete.music_state import MusicState
    from synesthete.performer import ChordHold

    hold = ChordHold(60)  # 6 frames
    def chord(root):
        s = MusicState.silence(1, 60)
        s.chord_root[:] = root
        return s
    seen = [float(hold.apply(chord(r)).chord_root[0]) for r in [0, 0, 7, 0, 7, 7, 7, 7, 7, 7, 7, 0]]
    # a one-frame flicker to G is ignored; G held for 6 frames is taken; one frame of C is ignored again
    assert seen == [0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 7, 7]
