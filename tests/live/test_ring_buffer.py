"""RingBuffer: what the audio callback writes, the consumer reads once, in order, freshest first."""

import threading

import numpy as np
import pytest

from synesthete_live.ring_buffer import RingBuffer


def ramp(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32)


def test_reads_come_back_in_order_and_only_once():
    rb = RingBuffer(16)
    rb.write(ramp(0, 5), 1.0)
    rb.write(ramp(5, 3), 2.0)
    assert rb.available() == 8
    out, t = rb.read_new()
    np.testing.assert_array_equal(out, ramp(0, 8))
    assert t == 2.0 and out.dtype == np.float32
    out2, t2 = rb.read_new()
    assert out2.size == 0 and t2 == 2.0  # nothing new, but the newest capture time is still known
    assert rb.overruns == 0


def test_nothing_written_yet_gives_no_time():
    out, t = RingBuffer(8).read_new()
    assert out.size == 0 and t is None


def test_wraparound_keeps_order():
    rb = RingBuffer(10)
    pos = 0
    for n in (7, 6, 9, 4, 10, 3):
        rb.write(ramp(pos, n), float(pos + n))
        out, t = rb.read_new()
        np.testing.assert_array_equal(out, ramp(pos, n))
        pos += n
        assert t == float(pos)
    assert rb.overruns == 0


def test_overrun_drops_the_oldest_and_counts_it():
    rb = RingBuffer(10)
    rb.write(ramp(0, 6), 1.0)
    rb.write(ramp(6, 7), 2.0)  # 13 frames into a 10-frame ring: frames 0..2 are lost
    out, t = rb.read_new()
    np.testing.assert_array_equal(out, ramp(3, 10))
    assert rb.overruns == 3 and t == 2.0


def test_block_longer_than_capacity_keeps_its_newest_frames():
    rb = RingBuffer(4)
    rb.write(ramp(0, 11), 5.0)
    out, _ = rb.read_new()
    np.testing.assert_array_equal(out, ramp(7, 4))
    assert rb.overruns == 7


def test_max_frames_returns_the_newest_and_counts_the_skipped():
    rb = RingBuffer(32)
    rb.write(ramp(0, 20), 3.0)
    out, t = rb.read_new(max_frames=5)
    np.testing.assert_array_equal(out, ramp(15, 5))
    assert rb.overruns == 15 and t == 3.0 and rb.available() == 0


def test_stereo_blocks_are_downmixed_to_mono():
    rb = RingBuffer(8, channels=2)
    block = np.stack([np.ones(4, np.float32), np.zeros(4, np.float32)], axis=1)  # (4, 2)
    rb.write(block, 0.5)
    out, _ = rb.read_new()
    np.testing.assert_allclose(out, np.full(4, 0.5, np.float32))
    with pytest.raises(ValueError, match="3 channels"):
        rb.write(np.zeros((4, 3), np.float32), 0.0)


def test_read_into_is_fifo_for_an_output_callback():
    rb = RingBuffer(8)
    rb.write(ramp(0, 6), 0.0)
    out = np.zeros(4, np.float32)
    assert rb.read_into(out) == 4
    np.testing.assert_array_equal(out, ramp(0, 4))
    assert rb.read_into(out) == 2
    np.testing.assert_array_equal(out[:2], ramp(4, 2))
    assert rb.read_into(out) == 0


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(0)
    with pytest.raises(ValueError, match="channels"):
        RingBuffer(4, channels=0)


def test_concurrent_producer_never_delivers_torn_or_reordered_frames():
    # A producer thread writes a ramp as fast as it can into a small ring while the consumer
    # reads: every frame read must be a later value than the one before (no stale slot leaks
    # through) and every frame is either read or counted as an overrun.
    rb = RingBuffer(64)
    total = 200_000
    done = threading.Event()

    def produce():
        pos = 0
        while pos < total:
            n = min(37, total - pos)
            rb.write(ramp(pos, n), float(pos + n))
            pos += n
        done.set()

    th = threading.Thread(target=produce)
    th.start()
    last, received = -1.0, 0
    while True:
        finished = done.is_set()
        out, _ = rb.read_new()
        if out.size:
            assert np.all(np.diff(out) == 1.0), "frames within one read must be consecutive"
            assert out[0] > last
            last = float(out[-1])
            received += out.size
        if finished and rb.available() == 0:
            break
    th.join()
    assert last == total - 1
    assert received + rb.overruns == total


def test_write_allocates_no_sample_memory():
    # What makes a write callback-safe is that it copies into the preallocated buffer and allocates
    # no sample memory (its cost in microseconds is a figure, not an assert: a shared box flakes).
    import tracemalloc

    rb = RingBuffer(48_000, channels=2)
    block = np.random.default_rng(0).standard_normal((256, 2)).astype(np.float32)  # 2 KiB
    mono = block[:, 0].copy()
    rb.write(block, 0.0)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for i in range(2000):
            rb.write(block if i % 2 else mono, float(i))
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 1024, "writes keep no memory"
    assert peak - before < block.nbytes // 2, "no temporary copy of a block (it would be 2 KiB)"
