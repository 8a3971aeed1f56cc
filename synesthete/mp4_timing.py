"""Stamping an mp4's streams at the instants they stand for, with edit lists in its header.

Frame t of a Synesthete video stands for the instant (t + 1) / fps (docs/architecture.md), and
the audio must play at its source time. The encoders cannot say either: `Mp4Writer` numbers video
frames from 0 (pts n in a 1 / fps time base), so frame t would be stamped t / fps (the picture
~1 frame early), and the aac encoder puts 1024 samples of priming before the first real one (every sound 21-23 ms late when
nothing trims them). FFmpeg's mov muxer writes the audio's trim itself when the header is
written after the first packets (`movflags=delay_moov`: an `elst` that starts the audio track
1024 samples in). `stamp_frame_instants` adds the video's part: an empty edit of one frame
before the picture track, so frame t is presented at (t + 1) / fps, with a constant frame
duration from the first frame on.

The edit is made in place: the header (`moov`) keeps its exact size (the `udta` box FFmpeg
writes, an encoder name tag, gives up the 12 bytes the second edit entry needs and becomes
`free` padding), so every fragment after it stays where it is, and a recording that is still
being written can be stamped as soon as its header reaches the disk (the live recorder does,
so even a killed show has it). The movie timescale is changed to one in which 1 / fps is a whole
number (FFmpeg's default of 1000 would make the edit 17 ms at 60 fps, not 16.67).
"""

from __future__ import annotations

import os
import struct
from fractions import Fraction
from pathlib import Path

HEAD_BYTES = 256 * 1024  # the header sits right after `ftyp`; a few KB in practice


def _children(buf: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, offset, size) of the boxes in buf[start:end]; stops at a box that runs past the end."""
    out, pos = [], start
    while pos + 8 <= end:
        size, typ = struct.unpack(">I4s", buf[pos : pos + 8])
        if size < 8 or pos + size > end:
            break
        out.append((typ, pos, size))
        pos += size
    return out


def _find(buf: bytes, start: int, end: int, typ: bytes) -> tuple[int, int] | None:
    for t, pos, size in _children(buf, start, end):
        if t == typ:
            return pos, size
    return None


def movie_timescale(fps: float) -> tuple[int, int]:
    """(movie timescale, one frame in it): 1 / fps exactly, e.g. 60 fps -> (6000, 100)."""
    rate = Fraction(fps).limit_denominator(1001)  # 60, 30000/1001, 25, ...
    return rate.numerator * 100, rate.denominator * 100


def _video_trak(moov: bytes) -> tuple[int, int] | None:
    for t, pos, size in _children(moov, 8, len(moov)):
        if t == b"trak":
            mdia = _find(moov, pos + 8, pos + size, b"mdia")
            hdlr = mdia and _find(moov, mdia[0] + 8, mdia[0] + mdia[1], b"hdlr")
            if hdlr and moov[hdlr[0] + 16 : hdlr[0] + 20] == b"vide":
                return pos, size
    return None


def _stamped_moov(moov: bytes, fps: float) -> bytes | None:
    """The header with the video's one-frame empty edit, same size; None if already so or no room."""
    timescale, frame = movie_timescale(fps)
    trak = _video_trak(moov)
    if trak is None:
        return None
    tpos, tsize = trak
    edts = _find(moov, tpos + 8, tpos + tsize, b"edts")
    media_time = 0  # where the picture's media starts (FFmpeg puts the B-frame delay here)
    if edts is not None:
        elst = _find(moov, edts[0] + 8, edts[0] + edts[1], b"elst")
        if elst is None:
            return None
        count, media_time = _first_edit(moov, elst[0])
        if count >= 2 and media_time == -1:
            return None  # stamped already (or an edit list we did not write: leave it alone)
    new_edts = struct.pack(">I4s", 48, b"edts") + struct.pack(
        ">I4sIIIiIIiI", 40, b"elst", 0, 2, frame, -1, 0x10000, 0, media_time, 0x10000)
    kept = [(t, p, n) for t, p, n in _children(moov, tpos + 8, tpos + tsize) if t != b"edts"]
    parts = [moov[p : p + n] for _, p, n in kept]
    parts.insert(1 + [t for t, _, _ in kept].index(b"tkhd"), new_edts)  # edts follows tkhd
    body = b"".join(parts)
    new_trak = struct.pack(">I4s", 8 + len(body), b"trak") + body
    grow = len(new_trak) - tsize  # 12 bytes (a second entry) or 48 (a new edts)
    out = []
    for t, pos, size in _children(moov, 8, len(moov)):
        box = moov[pos : pos + size]
        if (pos, size) == (tpos, tsize):
            box = new_trak
        elif t == b"mvhd":
            box = _with_timescale(box, timescale)
        elif t in (b"udta", b"free") and grow > 0 and size - grow >= 8:
            box = struct.pack(">I4s", size - grow, b"free") + bytes(size - grow - 8)
            grow = 0
        out.append(box)
    if grow > 0:
        return None  # no room in this header: leave the file as it is
    if grow < 0:
        out.append(struct.pack(">I4s", -grow, b"free") + bytes(-grow - 8))
    body = b"".join(out)
    return struct.pack(">I4s", 8 + len(body), b"moov") + body


def _with_timescale(mvhd: bytes, timescale: int) -> bytes:
    box = bytearray(mvhd)
    version = box[8]
    at = 8 + 4 + (16 if version == 1 else 8)
    (old,) = struct.unpack(">I", box[at : at + 4])
    struct.pack_into(">I", box, at, timescale)
    if version == 1:  # the movie's duration (0 in a fragmented file) follows, in the old timescale
        (d,) = struct.unpack(">Q", box[at + 4 : at + 12])
        struct.pack_into(">Q", box, at + 4, d * timescale // max(old, 1))
    else:
        (d,) = struct.unpack(">I", box[at + 4 : at + 8])
        struct.pack_into(">I", box, at + 4, min(d * timescale // max(old, 1), 0xFFFFFFFF))
    return bytes(box)


def stamp_frame_instants(path: str | Path, fps: float) -> bool | None:
    """Give the mp4 at `path` its video edit (frame t at (t + 1) / fps), in place.

    True when the file carries it (now or already), False when its header has no video track or
    no room for it (left as it is), None while the header is not on the disk yet.
    """
    path = Path(path)
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    found = _find(head, 0, len(head), b"moov")
    if found is None:
        return None
    pos, size = found
    moov = head[pos : pos + size]
    new = _stamped_moov(moov, fps)
    if new is None:
        return _video_trak(moov) is not None and _is_stamped(moov)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, new, pos)  # same size, same place: the fragments after it do not move
    finally:
        os.close(fd)
    return True


def _first_edit(moov: bytes, elst: int) -> tuple[int, int]:
    """(entry count, media_time of the first entry) of the `elst` box at offset `elst`."""
    version = moov[elst + 8]
    (count,) = struct.unpack(">I", moov[elst + 12 : elst + 16])
    media_time = struct.unpack(">q" if version == 1 else ">i",
                               moov[elst + 24 : elst + 32] if version == 1 else moov[elst + 20 : elst + 24])[0]
    return count, media_time


def _is_stamped(moov: bytes) -> bool:
    tpos, tsize = _video_trak(moov)
    edts = _find(moov, tpos + 8, tpos + tsize, b"edts")
    elst = edts and _find(moov, edts[0] + 8, edts[0] + edts[1], b"elst")
    if not elst:
        return False
    count, media_time = _first_edit(moov, elst[0])
    return count >= 2 and media_time == -1
