"""`synesthete-pipeline`: train (briefly), compose a track, render it: a real mp4 comes out."""

from __future__ import annotations

import pytest

from synesthete_train.pipeline import main


@pytest.mark.slow
def test_pipeline_trains_composes_and_renders_a_playable_mp4(tmp_path):
    from torchcodec.decoders import AudioDecoder, VideoDecoder

    out = tmp_path / "output_test.mp4"
    code = main(["-o", str(out), "--work", str(tmp_path / "work"), "--minutes", "0.15",
                 "--seconds", "2", "--size", "128x72", "--device", "cpu"])
    assert code == 0 and out.is_file()
    assert (tmp_path / "work" / "train" / "last.pt").is_file()
    video = VideoDecoder(str(out))
    assert video.metadata.num_frames == 120
    # 60 fps, frame t stamped at (t + 1) / 60 (docs/recording.md: timing as players read it).
    assert video.get_frame_at(0).pts_seconds == pytest.approx(1 / 60, abs=1e-6)
    step = video.get_frame_at(61).pts_seconds - video.get_frame_at(60).pts_seconds
    assert step == pytest.approx(1 / 60, abs=1e-6)
    assert tuple(video[0].shape) == (3, 72, 128)
    audio = AudioDecoder(str(out)).get_all_samples()
    assert audio.duration_seconds == pytest.approx(2.0, abs=0.05)
    assert audio.data.abs().max() > 0.01  # the track is in the file, not silence


def test_pipeline_with_the_shipped_checkpoint_draws_a_visible_picture(tmp_path):
    from torchcodec.decoders import VideoDecoder

    out = tmp_path / "shipped.mp4"
    assert main(["-o", str(out), "--work", str(tmp_path), "--checkpoint", "default",
                 "--seconds", "3", "--size", "128x72", "--device", "cpu"]) == 0
    frames = VideoDecoder(str(out))[60:180].float()  # (T, 3, H, W), after the first second
    assert frames.mean() > 10  # not a black screen (a collapsed model draws ~0)
    assert (frames[1:] - frames[:-1]).abs().mean(dim=(1, 2, 3)).max() > 0.5  # and it moves
