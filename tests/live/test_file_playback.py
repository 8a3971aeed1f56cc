"""A file played live (`--device file:X`) and the same file decoded offline (`synesthete-render X`)
give the model the same samples: one decoder, one resampler, whatever the chunking."""

import time

import numpy as np
import pytest
import torch
from torchcodec.encoders import AudioEncoder

from synesthete.audio_file import read_model_audio
from synesthete_live.audio_input import open_source
from synesthete_live.sources import FileSource

SR = 24_000


@pytest.mark.parametrize("ext, rate", [("mp3", 44_100), ("flac", 48_000)])
def test_live_file_playback_hears_what_the_renderer_hears(ext, rate, tmp_path):
    rng = np.random.default_rng(3)
    seconds = 1.3
    n = int(seconds * rate)
    t = np.arange(n) / rate
    left = 0.4 * np.sin(2 * np.pi * 330 * t) * (1 + np.sign(np.sin(2 * np.pi * 4 * t))) / 2  # gated tone
    right = 0.2 * rng.standard_normal(n)
    path = tmp_path / f"music.{ext}"
    AudioEncoder(torch.from_numpy(np.stack([left, right]).astype(np.float32)), sample_rate=rate).to_file(str(path))

    offline = read_model_audio(path, SR)
    src = open_source(f"file:{path}", SR, play_out=False)
    assert isinstance(src, FileSource)
    src.loop = False
    heard = []
    with src:
        deadline = time.monotonic() + 20 * seconds  # generous: a busy machine only slows the pacing
        while src.status != "ended" and time.monotonic() < deadline:
            time.sleep(0.02)
            heard.append(src.read()[0])
        heard.append(src.read()[0])
    live = np.concatenate(heard)
    assert src.status == "ended"
    # The live source ends on a whole block (silence after the file); the file's part is identical.
    assert offline.size <= live.size < offline.size + src.block_size
    np.testing.assert_array_equal(live[: offline.size], offline)
    assert not live[offline.size :].any()
