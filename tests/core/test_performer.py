"""Performer: the one streaming path. Chunking never changes the picture, a replay equals the live
run, every frame knows when its newest sample was captured, and kicks are found on time."""

import numpy as np
import pytest
import torch

from synesthete.model import build_model, model_config
from synesthete.performer import Frame, Performer, render_clip

SR, FPS = 24_000, 60
HOP = SR // FPS


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # As the live app runs: per-frame steps are tiny, intra-op threads only add contention.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(model_config("tiny", styles=("a", "b", "c"), sample_rate=SR, fps=FPS)).eval()


def music(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    x = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(n)
    for beat in np.arange(0.1, seconds, 0.5):  # a kick every half second
        i = int(beat * SR)
        k = np.arange(min(3000, n - i))
        x[i : i + k.size] += 0.9 * np.sin(2 * np.pi * 55 * k / SR) * np.exp(-k / 900)
    return x.astype(np.float32)


def test_frames_are_uint8_images_at_the_model_or_render_size(model):
    p = Performer(model)
    frames = p.process(music(0.1), p.new_controls())
    assert len(frames) == int(0.1 * SR) // HOP
    f = frames[0]
    assert isinstance(f, Frame) and f.image.dtype == np.uint8 and f.image.shape == (model.cfg.height, model.cfg.width, 3)
    big = Performer(model, render_size=(24, 40)).process(music(0.05), p.new_controls())
    assert big[0].image.shape == (24, 40, 3)


def test_any_chunking_gives_the_same_frames(model):
    audio = music(1.0)
    whole = render_clip(Performer(model), audio, Performer(model).new_controls())
    p = Performer(model)
    controls = p.new_controls()
    rng = np.random.default_rng(1)
    out, i = [], 0
    while i < audio.size:
        n = int(rng.integers(1, 1500))  # like a live loop reading whatever arrived
        out.extend(f.image for f in p.process(audio[i : i + n], controls))
        i += n
    live = np.stack(out)
    assert live.shape == whole.shape == (audio.size // HOP, model.cfg.height, model.cfg.width, 3)
    assert np.abs(live.astype(int) - whole.astype(int)).max() <= 1


def test_a_replay_of_logged_control_events_equals_the_live_run(model):
    audio = music(1.0, seed=3)
    p = Performer(model)
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
    replay = render_clip(Performer(model), audio, Performer(model).new_controls(), log)
    assert len(log) >= 3
    assert np.abs(np.stack(out).astype(int) - replay.astype(int)).max() <= 1
    plain = render_clip(Performer(model), audio, Performer(model).new_controls())
    assert not np.array_equal(plain, replay), "the events did change the picture"


def test_each_frame_carries_the_capture_time_of_its_newest_sample(model):
    p = Performer(model)
    frames = p.process(np.zeros(HOP * 2 + 100, np.float32), p.new_controls(), newest_capture_time=10.0)
    # frame 0 ends at sample HOP, frame 1 at 2*HOP; 100 newer samples came after frame 1.
    assert frames[1].capture_time == pytest.approx(10.0 - 100 / SR)
    assert frames[0].capture_time == pytest.approx(10.0 - (HOP + 100) / SR)
    assert p.process(np.zeros(10, np.float32), p.new_controls(), 11.0) == [], "no complete hop, no frame"


def test_kicks_are_found_on_the_frame_they_land_and_silence_has_none(model):
    p = Performer(model)
    frames = p.process(music(3.0), p.new_controls())
    beats = [f.index for f in frames if f.beat]
    expected = [int(t * SR) // HOP for t in np.arange(0.1, 3.0, 0.5)]
    assert len(beats) == len(expected)
    assert all(0 <= b - e <= 1 for b, e in zip(beats, expected)), (beats, expected)
    quiet = Performer(model).process(np.zeros(SR, np.float32), p.new_controls())
    assert not any(f.beat for f in quiet)


def test_blackout_control_reaches_the_picture(model):
    p = Performer(model)
    controls = p.new_controls(blackout=1.0)
    frames = p.process(music(0.2), controls)
    assert frames[-1].image.max() == 0
