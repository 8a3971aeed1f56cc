"""The render size: candidates at the window's aspect down to the floor, a fixed size wins, a GPU
draws the full window, a CPU picks a measured size, and frames that keep missing step it down."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


from synesthete.audio.engine import render_clip  # noqa: E402
from synesthete.performer import Performer, ScoreHearing  # noqa: E402
from synesthete_live.render_size import RenderSizer  # noqa: E402


def test_candidates_keep_the_window_aspect_down_to_480x270_at_720p():
    sizes = RenderSizer((1280, 720), "cpu", None, 60).candidates()
    assert sizes == [(720, 1280), (540, 960), (450, 800), (360, 640), (270, 480)]
    assert all(h % 2 == 0 and w % 2 == 0 for h, w in RenderSizer((1366, 768), "cpu", None, 60).candidates())


def test_a_fixed_size_wins_and_a_gpu_draws_the_full_window():
    perf = Performer(ScoreHearing(render_clip(3, 1.0).score.music_state(60, 60)), looks=["plasma"])
    size, note = RenderSizer((1280, 720), "cpu", (200, 300), 60).choose(perf)
    assert size == (200, 300) and "--render-size" in note
    size, note = RenderSizer((1280, 720), "cuda", None, 60).choose(perf)
    assert size == (720, 1280) and "full window" in note


def test_a_cpu_picks_a_measured_candidate_and_says_what_it_measured():
    perf = Performer(ScoreHearing(render_clip(3, 1.0).score.music_state(60, 60)), looks=["plasma", "rings"])
    sizer = RenderSizer((320, 180), "cpu", None, 60)
    size, note = sizer.choose(perf)
    assert size in sizer.candidates() and size in sizer.measured
    assert f"{size[1]}x{size[0]}" in note and "budget" in note
    assert perf.frames_done == 0, "the measurement leaves the performer as new"


def test_frames_that_keep_missing_step_the_size_down_to_the_floor_and_no_further():
    sizer = RenderSizer((1280, 720), "cpu", None, 60)
    current, steps = (720, 1280), []
    for _ in range(20 * 60):  # twenty seconds of every frame late
        smaller = sizer.observe(0.03, 0, current)
        if smaller is not None:
            steps.append(smaller)
            current = smaller
    assert steps == [(540, 960), (450, 800), (360, 640), (270, 480)]
    on_time = RenderSizer((1280, 720), "cpu", None, 60)
    assert all(on_time.observe(0.005, 0, (720, 1280)) is None for _ in range(600))
    fixed = RenderSizer((1280, 720), "cpu", (360, 640), 60)
    assert all(fixed.observe(0.05, 3, (360, 640)) is None for _ in range(600))
