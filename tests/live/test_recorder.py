"""Recorder: a real Mp4Writer on its own thread; the render loop's submit never waits for it."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from torchcodec.decoders import AudioDecoder, VideoDecoder

from synesthete.mp4_writer import Mp4Writer, RecordingError, trim_partial_fragment
from synesthete_live.recorder import KEYFRAME_SECONDS, Recorder, claim_recording_path

W, H, FPS, SR = 320, 180, 30, 24_000
SPF = SR // FPS


def gray(i: int, w: int = W, h: int = H) -> np.ndarray:
    """Frame i is a flat gray of level 4 * i: its index can be read back from the decoded file."""
    return np.full((h, w, 3), (4 * i) % 240, np.uint8)


def bands(i: int, w: int = W, h: int = H) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    band = ((xx + yy + 4 * i) % 64) * 3
    return np.stack([band, 255 - band, np.full_like(band, 60)], -1).astype(np.uint8)


def tone(n: int, start: int = 0) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * 440 * (np.arange(n) + start) / SR)).astype(np.float32)


def decoded_indices(path: Path) -> list[int]:
    """Which gray frame each slot of the file shows."""
    frames = VideoDecoder(str(path)).get_frames_in_range(0, len(VideoDecoder(str(path)))).data
    return [round(float(level) / 4) for level in frames.float().mean(dim=(1, 2, 3))]


class GatedWriter(Mp4Writer):
    """The real writer, but each frame waits for `gate`: a deliberately stuck encoder."""

    gate = threading.Event()
    waiting = threading.Event()  # set once a frame is stuck at the gate

    def write_frames(self, frames):
        GatedWriter.waiting.set()
        assert self.gate.wait(30), "test never opened the gate"
        super().write_frames(frames)


def test_records_frames_and_audio_into_a_playable_mp4_and_summarises(tmp_path: Path):
    path = tmp_path / "set.mp4"
    rec = Recorder(path, W, H, FPS, SR, queue_frames=600).start()  # a burst: nothing dropped
    assert rec.is_recording
    for i in range(60):
        rec.submit_frame(bands(i), tone(SPF, i * SPF))
    assert rec.position() == (59, 2.0)  # frame index and audio-clock seconds of the newest submit
    summary = rec.stop()
    assert not rec.is_recording
    assert summary | {"wall_seconds": 0} == {
        "path": str(path), "frames": 60, "dropped": 0, "duplicated": 0, "skipped": 0, "seconds": 2.0,
        "audio_seconds": 2.0, "width": W, "height": H, "fps": FPS, "wall_seconds": 0, "error": None}
    assert rec.stop() == summary  # idempotent
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                                      capture_output=True, text=True, check=True).stdout)
    assert sorted(s["codec_name"] for s in probe["streams"]) == ["aac", "h264"]
    assert len(VideoDecoder(str(path))) == 60
    assert abs(AudioDecoder(str(path)).get_all_samples().duration_seconds - 2.0) < 1 / FPS


def test_window_frames_are_scaled_to_the_recording_size_on_the_recorder_thread(tmp_path: Path):
    seen: list[tuple[str, tuple]] = []

    class SpyWriter(Mp4Writer):
        def write_frames(self, frames):
            seen.append((threading.current_thread().name, frames.shape))
            super().write_frames(frames)

    window = bands(0, 640, 360)
    with Recorder(tmp_path / "scaled.mp4", W, H, FPS, SR, writer_factory=SpyWriter) as rec:
        for i in range(10):
            rec.submit_frame(window, tone(SPF))
    assert seen == [("synesthete-recorder", (H, W, 3))] * 10
    video = VideoDecoder(str(tmp_path / "scaled.mp4"))
    assert (video.metadata.width, video.metadata.height) == (W, H)


def test_submit_never_blocks_a_stuck_encoder_drops_frames_and_the_file_repeats_them_in_sync(tmp_path: Path):
    path = tmp_path / "stuck.mp4"
    GatedWriter.gate.clear()
    rec = Recorder(path, W, H, FPS, SR, queue_frames=4, writer_factory=GatedWriter).start()
    queued = [rec.submit_frame(gray(i), tone(SPF, i * SPF)) for i in range(40)]
    # All 40 calls came back while the encoder had not written a single frame: nothing waited.
    assert rec.frames_written == 0
    # 4 wait in the queue, at most 2 more were taken by the recorder thread (one being encoded,
    # one waiting to learn whether more frames share its audio chunk).
    assert sum(queued) <= 6 and rec.dropped_frames == 40 - sum(queued) >= 34
    GatedWriter.gate.set()
    queued += [rec.submit_frame(gray(i), tone(SPF, i * SPF)) for i in range(40, 60)]
    summary = rec.stop()
    assert summary["frames"] == 60 and summary["dropped"] == queued.count(False)
    # Each slot shows its own frame if it was queued, else the newest queued frame before it: a drop
    # repeats the previous picture and nothing after it shifts.
    newest = [max(j for j in range(k + 1) if queued[j]) for k in range(60)]
    assert decoded_indices(path) == newest
    assert abs(AudioDecoder(str(path)).get_all_samples().duration_seconds - 60 / FPS) < 1 / FPS


def test_uneven_audio_chunks_keep_every_frame_without_repeats_or_skips(tmp_path: Path):
    path = tmp_path / "jitter.mp4"
    with Recorder(path, W, H, FPS, SR, queue_frames=600) as rec:
        for i in range(40):  # audio arrives in callback-sized blocks: 600, 1000, 600, ... samples
            rec.submit_frame(gray(i), tone(600 if i % 2 == 0 else 1000))
    assert (rec.duplicated_frames, rec.skipped_frames, rec.frames_written) == (0, 0, 40)
    assert decoded_indices(path) == list(range(40))


def test_several_frames_made_from_one_audio_chunk_take_consecutive_slots(tmp_path: Path):
    # The live loop's pattern: a chunk may yield no model frame (audio only) or two (the first
    # frame carries the chunk, the second none): they still land one per slot, in order.
    path = tmp_path / "batches.mp4"
    with Recorder(path, W, H, FPS, SR, queue_frames=600) as rec:
        for i in range(0, 30, 3):
            rec.submit_frame(gray(i), tone(SPF))  # a chunk that made 1 frame
            rec.submit_audio(tone(SPF))  # a chunk that made none
            rec.submit_frame(gray(i + 1), tone(SPF))  # a chunk that made 2
            rec.submit_frame(gray(i + 2))
    assert (rec.duplicated_frames, rec.skipped_frames, rec.frames_written) == (0, 0, 30)
    assert decoded_indices(path) == list(range(30))


@pytest.mark.parametrize("chunk, expect", [(2 * SPF, "duplicated"), (SPF // 2, "skipped")])
def test_a_render_loop_slower_or_faster_than_fps_follows_the_audio_clock(tmp_path: Path, chunk: int, expect: str):
    path = tmp_path / f"{expect}.mp4"
    with Recorder(path, W, H, FPS, SR, queue_frames=600) as rec:
        for i in range(30):
            rec.submit_frame(gray(i), tone(chunk))
    summary = rec.stop()
    audio_frames = 30 * chunk // SPF
    # Video length follows the audio whatever the render rate (a frame may land one slot late).
    assert audio_frames <= summary["frames"] <= audio_frames + 1
    assert summary["audio_seconds"] == summary["seconds"]  # short audio is padded to the video on close
    # Decoded aac runs to whole 1024-sample frames (+ the encoder's flush frame): up to 2 * 1024 more.
    decoded = AudioDecoder(str(path)).get_all_samples().duration_seconds
    assert summary["seconds"] <= decoded + 1 / FPS and decoded <= summary["seconds"] + 2048 / SR
    assert summary[expect] == pytest.approx(abs(audio_frames - 30), abs=1)
    shown = decoded_indices(path)
    assert shown == sorted(shown)  # time never runs backwards
    assert all(i <= k for k, i in enumerate(shown) if expect == "duplicated")  # never shown before its audio


def test_video_only_recording_repeats_the_last_frame_for_each_drop(tmp_path: Path):
    GatedWriter.gate.clear()
    rec = Recorder(tmp_path / "silent.mp4", W, H, FPS, None, queue_frames=2, writer_factory=GatedWriter).start()
    queued = [rec.submit_frame(gray(i)) for i in range(12)]
    GatedWriter.gate.set()
    summary = rec.stop()
    assert summary["frames"] == 12 and summary["dropped"] == queued.count(False) > 0
    assert decoded_indices(tmp_path / "silent.mp4") == [max(j for j in range(k + 1) if queued[j])
                                                        for k in range(12)]


def test_a_full_disk_stops_the_recording_cleanly_without_disturbing_the_caller(tiny_disk: Path):
    path = tiny_disk / "full.mp4"
    rec = Recorder(path, W, H, FPS, SR, queue_frames=600).start()
    i = 0
    while rec.error is None and i < 60 * FPS:  # ~27 KB per second of video: full after ~5 s
        rec.submit_frame(bands(i), tone(SPF, i * SPF))
        i += 1
        if i % FPS == 0:
            rec._thread.join(0.05)  # let the encoder catch up now and then
    rec._thread.join(10)
    assert rec.error is not None and "disk full" in rec.error
    assert not rec.is_recording
    assert rec.submit_frame(bands(0), tone(SPF)) is False  # the show goes on; nothing is queued
    summary = rec.stop()
    assert summary["error"] == rec.error and summary["frames"] >= FPS
    video = VideoDecoder(str(path))
    assert len(video) >= FPS
    assert video.get_frames_in_range(0, len(video)).data.shape[0] == len(video)  # every frame left decodes


def test_bad_use_fails_with_one_clear_error(tmp_path: Path):
    with pytest.raises(RecordingError, match="does not exist"):
        Recorder(tmp_path / "missing" / "x.mp4", W, H, FPS, SR).start()
    rec = Recorder(tmp_path / "x.mp4", 321, 181, FPS, SR)
    assert (rec.width, rec.height) == (320, 180)  # h264 yuv420p needs even sizes
    with pytest.raises(RuntimeError, match="never started"):
        rec.stop()
    with rec:
        with pytest.raises(ValueError, match=r"uint8 numpy array \(H, W, 3\)"):
            rec.submit_frame(np.zeros((H, W, 3), np.float32), tone(SPF))
        with pytest.raises(ValueError, match=r"audio must be float32 numpy \(n,\) or \(1, n\)"):
            rec.submit_frame(gray(0), np.zeros((2, SPF), np.float32))
        with pytest.raises(RuntimeError, match="already started"):
            rec.start()


def test_a_new_recording_never_takes_the_name_of_an_earlier_one(tmp_path: Path):
    show = tmp_path / "set.mp4"
    assert claim_recording_path(show) == show and show.stat().st_size == 0  # claimed: an empty file
    show.write_bytes(b"an earlier show")
    assert claim_recording_path(show) == tmp_path / "set-2.mp4"
    (tmp_path / "set-3.session.jsonl").write_text("{}")  # a show whose mp4 was moved away: its log stays
    assert claim_recording_path(show) == tmp_path / "set-4.mp4"
    assert show.read_bytes() == b"an earlier show" and (tmp_path / "set-3.session.jsonl").read_text() == "{}"
    alone = tmp_path / "solo.mp4"
    (tmp_path / "solo.session.jsonl").write_text("{}")  # only the log is left of an earlier show
    assert claim_recording_path(alone) == tmp_path / "solo-2.mp4" and not alone.exists()


def test_a_stuck_encoder_cannot_grow_the_queue_without_bound(tmp_path: Path):
    # Audio and dropped-frame entries are queued even when frames are dropped; with the encoder
    # stuck they must stop at a bound, end the recording with a reason, and count what was refused.
    GatedWriter.gate.clear()
    GatedWriter.waiting.clear()
    path = tmp_path / "stuck.mp4"
    rec = Recorder(path, W, H, FPS, SR, queue_frames=4, max_lag_seconds=2, writer_factory=GatedWriter).start()
    rec.submit_frame(gray(0), tone(SPF))
    rec.submit_audio(tone(SPF, SPF))  # places frame 0: the encoder takes it and is stuck in it
    assert GatedWriter.waiting.wait(10)
    n = 10 * rec.max_entries
    for i in range(2, n + 1):
        rec.submit_frame(gray(i), tone(SPF, i * SPF)) if i % 2 else rec.submit_audio(tone(SPF, i * SPF))
        assert len(rec._items) <= rec.max_entries
    assert not rec.is_recording and "fell 2 s behind" in rec.error
    assert rec.refused_entries >= n - 1 - rec.max_entries  # every submit after the stop is counted
    GatedWriter.gate.set()
    summary = rec.stop()
    assert summary["error"] == rec.error
    assert decoded_indices(path)[0] == 0, "what was written before the stop plays"


def test_abort_ends_the_recording_at_once_and_the_file_plays(tmp_path: Path):
    path = tmp_path / "aborted.mp4"
    rec = Recorder(path, W, H, FPS, SR).start()
    for i in range(2 * FPS):
        rec.submit_frame(bands(i), tone(SPF, i * SPF))
    rec.abort("disk full while writing set.session.jsonl")
    assert not rec.is_recording and rec.submit_frame(bands(0), tone(SPF)) is False
    summary = rec.stop()
    assert summary["error"] == "disk full while writing set.session.jsonl"
    video = VideoDecoder(str(path))
    assert video.get_frames_in_range(0, len(video)).data.shape[0] == len(video)  # every frame left decodes



def test_what_has_been_encoded_is_on_disk_within_a_fragment(tmp_path: Path):
    # Durability by counts: once the encoder has taken N frames, a copy of the file as it is (what a
    # kill -9 would leave) plays all but the fragment being built and the frames inside x264.
    path = tmp_path / "live.mp4"
    rec = Recorder(path, W, H, FPS, SR, queue_frames=600).start()
    n = 3 * FPS
    for i in range(n):
        rec.submit_frame(bands(i), tone(SPF, i * SPF))
    while rec.lag_seconds > 0 or rec.queued_frames:
        rec._thread.join(0.01)
    killed = tmp_path / "killed.mp4"
    killed.write_bytes(path.read_bytes())
    rec.stop()
    trim_partial_fragment(killed)
    kept = len(VideoDecoder(str(killed)))
    fragment = round(KEYFRAME_SECONDS * FPS)
    assert kept >= n - fragment - 6, f"{kept} of {n} frames on disk; a fragment is {fragment} frames"
