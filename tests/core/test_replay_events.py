"""A live render-size change replays at its frame: `render_to_mp4` with a logged `render_size`
event draws like a live performer resized before that frame (at native detail), and ignores it
at full detail (the replay's own size stands)."""

from __future__ import annotations

import numpy as np

from synesthete.audio_file import DecodedAudio
from synesthete.checkpoint import load_model
from synesthete.performer import Performer
from synesthete.render import fit_frames, render_to_mp4

RATE = 24_000
SWITCH = 30  # the model frame the live loop resized before


def test_a_logged_render_size_change_replays_at_its_frame(tmp_path, tiny_hearing_checkpoint):
    hearing = load_model(tiny_hearing_checkpoint)
    rng = np.random.default_rng(0)
    audio = (0.2 * rng.standard_normal(RATE)).astype(np.float32)  # 1 s: 60 frames
    # Live: the performer draws at 36x64, the sizer steps it up to 72x128 before frame SWITCH.
    live = Performer(hearing, render_size=(36, 64))
    controls = live.new_controls()
    shown = []
    for i in range(60):
        if i == SWITCH:
            live.set_render_size((72, 128))
        shown += [f.image for f in live.process(audio[i * live.hop : (i + 1) * live.hop], controls)]
    assert shown[SWITCH - 1].shape == (36, 64, 3) and shown[SWITCH].shape == (72, 128, 3)
    expected = np.concatenate([fit_frames(f[None], 128, 72) for f in shown]).astype(int)

    got: list[np.ndarray] = []
    events = [(SWITCH, {"op": "render_size", "size": [72, 128]})]
    clip = DecodedAudio(audio[None], RATE, tmp_path / "a.wav")
    render_to_mp4(hearing, clip, tmp_path / "native.mp4", (128, 72), events=events, progress=False,
                  render_size=(36, 64), on_frames=got.append)
    replayed = np.concatenate(got).astype(int)
    assert replayed.shape == expected.shape
    diff = np.abs(replayed - expected)  # float rounding of chunked feature batches: a level here and there
    assert diff.max() <= 2 and (diff > 0).mean() < 1e-3

    full: list[np.ndarray] = []
    render_to_mp4(hearing, clip, tmp_path / "full.mp4", (128, 72), events=events, progress=False, full_detail=True,
                  on_frames=full.append)
    # Full detail draws at the output size throughout: the early frames are not the small live ones.
    assert np.abs(np.concatenate(full)[:SWITCH].astype(int) - expected[:SWITCH]).mean() > 0.5
