"""Streamed decoding: the windows join into exactly the whole-file decode, in every format, and the
model's audio is the same however it is chunked."""

import numpy as np
import pytest
import torch
from torchcodec.decoders import AudioDecoder
from torchcodec.encoders import AudioEncoder

from synesthete.audio_file import AudioFile, AudioFileError, decode_audio, model_audio, read_model_audio, to_model_audio
from synesthete.resampler import resample


@pytest.fixture(scope="module")
def noise() -> torch.Tensor:
    return torch.from_numpy((0.3 * np.random.default_rng(0).standard_normal((2, 44_100 * 3 + 123))).astype(np.float32))


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3", "ogg"])
@pytest.mark.parametrize("seconds", [0.37, 5.0])
def test_windows_join_into_the_whole_file(ext, seconds, noise, tmp_path):
    path = tmp_path / f"n.{ext}"
    AudioEncoder(noise, sample_rate=44_100).to_file(str(path))
    whole = AudioDecoder(str(path)).get_all_samples().data.numpy()  # (2, N), priming trimmed
    chunks = list(AudioFile(path).chunks(seconds))
    assert len(chunks) >= int(3 / seconds)
    np.testing.assert_array_equal(np.concatenate(chunks, axis=1), whole)
    assert decode_audio(path).samples.shape == whole.shape


def test_model_audio_is_the_mono_mix_resampled_whatever_the_windows(noise, tmp_path):
    path = tmp_path / "n.flac"
    AudioEncoder(noise, sample_rate=44_100).to_file(str(path))
    decoded = AudioDecoder(str(path)).get_all_samples().data.numpy()  # flac keeps 16 bits of the noise
    expected = resample(decoded.mean(axis=0), 44_100, 24_000)
    assert expected.size == round(noise.shape[1] * 24_000 / 44_100)
    np.testing.assert_array_equal(read_model_audio(path, 24_000), expected)
    np.testing.assert_array_equal(to_model_audio(decode_audio(path), 24_000), expected)
    file = AudioFile(path)
    np.testing.assert_array_equal(np.concatenate(list(model_audio(file.chunks(0.1), 44_100, 24_000))), expected)


def test_unreadable_files_are_one_clear_error(tmp_path):
    with pytest.raises(AudioFileError, match="no such file"):
        AudioFile(tmp_path / "nope.wav")
    with pytest.raises(AudioFileError, match="not a file"):
        AudioFile(tmp_path)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioFileError, match="empty"):
        AudioFile(tmp_path / "empty.wav")
    (tmp_path / "junk.mp3").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(AudioFileError, match="junk.mp3"):
        decode_audio(tmp_path / "junk.mp3")


def test_a_file_can_be_read_again_from_the_start(tmp_path):
    # Our own mp4s start the sound with an edit list (priming trimmed); a second pass (a replay
    # rendered twice, a live file looping) must start over, not fail.
    from synesthete.mp4_writer import Mp4Writer

    path = tmp_path / "rec.mp4"
    tone = (0.3 * np.sin(np.arange(24_000 * 2) / 7)).astype(np.float32)
    with Mp4Writer(path, 32, 32, 60, 24_000) as w:
        w.write_frames(np.zeros((120, 32, 32, 3), np.uint8))
        w.write_audio(tone)
    file = AudioFile(path)
    first, second = np.concatenate(list(file.chunks(0.5)), axis=1), np.concatenate(list(file.chunks(0.5)), axis=1)
    assert first.shape[1] >= tone.size
    np.testing.assert_array_equal(first, second)
