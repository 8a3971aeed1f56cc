"""NDI out: the show's frames (and its sound) as an NDI source Resolume, OBS or TouchDesigner can pick up.

`synesthete-live --ndi NAME` publishes a source called "<machine> (NAME)" through ndi-python,
which bundles NewTek/Vizrt's NDI runtime. That runtime is proprietary, so it is an optional
extra of the live package (`uv sync --all-packages --extra ndi`); without it `--ndi` fails with
one line saying so.

The picture is what the window shows (same centred crop), without the HUD, at the window size or
`--ndi-size WxH`; the sound is what the model hears (mono, float, at the model's sample rate).

Threads: the render thread only appends (image, audio) to a bounded queue (`submit`, a lock held
for one append; when full the OLDEST frame is dropped and counted). The sender thread crops,
scales, converts RGB to BGRX and hands each frame to the runtime, which compresses and serves it
to every connected receiver; that compression is the expensive part, so the thread runs at a lower
priority than the render thread (nice +10). Sources are announced by mDNS; where multicast does not reach (some
containers, VLANs), a receiver finds the source by this machine's address instead (NDI's "extra
IPs", what the tests use).
"""

from __future__ import annotations

import os
import threading

import cv2
import numpy as np

from synesthete.frame_size import scale_interpolation
from synesthete_live.send_queue import SendQueue
from synesthete_live.window import cover_rect

NDI_NICE = 10  # the NDI thread yields the CPU to the render thread (as the recorder does): NDI's
# compression costs ~10-30 ms of CPU per 720p frame on a small CPU; a late NDI frame is a counted
# drop for the receiver, a late window frame is a stutter in the show.
QUEUE_FRAMES = 4  # frames: NDI receivers buffer themselves; a deeper queue only adds latency
INSTALL_HINT = ("--ndi needs ndi-python (it bundles the proprietary NDI runtime): "
                "uv sync --all-packages --extra ndi")


class NdiError(RuntimeError):
    """NDI is not installed, or the runtime refused to start or to create the source."""


def ndi_library():
    """The NDIlib module, initialised; NdiError (one line: how to get it) when it is missing."""
    try:
        import NDIlib
    except ImportError:
        raise NdiError(INSTALL_HINT) from None
    if not NDIlib.initialize():
        raise NdiError("the NDI runtime did not start (NDIlib.initialize() failed; this CPU needs SSE4.2)")
    return NDIlib


def _carry_audio(old: tuple[np.ndarray, np.ndarray | None],
                 new: tuple[np.ndarray, np.ndarray | None]) -> tuple[np.ndarray, np.ndarray | None]:
    """A dropped frame's audio goes out with the next one: the picture may skip, the sound stays whole."""
    (_, old_audio), (image, audio) = old, new
    if old_audio is not None and audio is not None:
        audio = np.concatenate([old_audio, audio])
    elif old_audio is not None:
        audio = old_audio
    return image, audio


class NdiOut:
    """One NDI source; `submit(image, audio)` from the render thread, sending on its own thread."""

    def __init__(self, name: str, size: tuple[int, int], fps: float, sample_rate: int,
                 queue_frames: int = QUEUE_FRAMES) -> None:
        self.ndi = ndi_library()
        self.name = name
        self.size = (int(size[0]), int(size[1]))  # (w, h)
        self.fps = float(fps)
        self.sample_rate = int(sample_rate)
        create = self.ndi.SendCreate()
        create.ndi_name = name
        create.clock_video = False  # the show's audio clock paces us; the runtime must not also wait
        create.clock_audio = False
        self._send = self.ndi.send_create(create)
        if self._send is None:
            raise NdiError(f"the NDI runtime could not create a source named {name!r}")
        self._video = self.ndi.VideoFrameV2()
        self._video.FourCC = self.ndi.FOURCC_VIDEO_TYPE_BGRX
        self._video.frame_rate_N, self._video.frame_rate_D = int(round(self.fps * 1000)), 1000
        w, h = self.size
        self._bgrx = np.zeros((h, w, 4), np.uint8)  # (H, W, 4) BGRX, reused for every frame
        self._queue: SendQueue[tuple[np.ndarray, np.ndarray | None]] = SendQueue(queue_frames)
        self.sent = 0  # sender thread
        self.audio_samples = 0  # sender thread
        self._thread = threading.Thread(target=self._run, name="ndi-out", daemon=True)

    def start(self) -> "NdiOut":
        self._thread.start()
        return self

    def submit(self, image: np.ndarray, audio: np.ndarray | None = None) -> None:
        """Queue a (H, W, 3) uint8 RGB frame and the audio (n,) float32 that came with it."""
        self._queue.put((image, audio), _carry_audio)

    @property
    def submitted(self) -> int:
        return self._queue.submitted

    @property
    def dropped(self) -> int:
        return self._queue.dropped

    @property
    def connections(self) -> int:
        """Receivers connected right now (0 once stopped)."""
        return 0 if self._send is None else int(self.ndi.send_get_no_connections(self._send, 0))

    def stop(self, timeout: float = 2.0) -> None:
        """Send what is queued, then remove the source. Idempotent."""
        self._queue.close()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._send is not None:
            # NDIlib.destroy() is not called: the runtime is shared by everything NDI in this
            # process (a receiver, another source) and is released at exit.
            self.ndi.send_destroy(self._send)
            self._send = None
            self._video = None  # the binding's frame object goes with the source

    def _run(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, NDI_NICE)  # Linux: `who=0` is this thread only
        except (AttributeError, OSError):
            pass  # elsewhere it runs at normal priority
        while (item := self._queue.get()) is not None:
            self._send_frame(*item)

    def _send_frame(self, image: np.ndarray, audio: np.ndarray | None) -> None:
        w, h = self.size
        ih, iw = image.shape[:2]
        crop = cover_rect(iw, ih, w, h)  # what the window shows: same centred crop
        # Convert at the render size (small), then scale straight into the reused BGRX buffer.
        part = cv2.cvtColor(np.ascontiguousarray(image[crop.top:crop.bottom, crop.left:crop.right]),
                            cv2.COLOR_RGB2BGRA)
        cv2.resize(part, (w, h), dst=self._bgrx, interpolation=scale_interpolation(crop.w, w))
        self._video.data = self._bgrx
        self.ndi.send_send_video_v2(self._send, self._video)  # copies the frame before it returns
        self.sent += 1
        if audio is not None and audio.size:
            frame = self.ndi.AudioFrameV2(sample_rate=self.sample_rate, no_channels=1, no_samples=int(audio.size))
            frame.data = np.ascontiguousarray(audio, np.float32).reshape(1, -1)  # (channels, samples), planar
            self.ndi.send_send_audio_v2(self._send, frame)
            self.audio_samples += int(audio.size)

    def hud_line(self) -> str:
        return (f"ndi {self.name} {self.size[0]}x{self.size[1]}  {self.connections} receivers  "
                f"{self.sent} sent  {self.dropped} dropped")
