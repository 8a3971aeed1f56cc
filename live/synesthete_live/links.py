"""The live app's links to the rest of a VJ rig: OSC out, OSC in and NDI out, behind one small API.

The live loop holds one `Links` and calls, on the render thread:

* `control_events(controls)` once per frame, before rendering: the control events OSC in asks for
  (the same dicts keys and MIDI make, plus {"op": "app"} and {"op": "preset"} actions);
* `publish(frames, audio, source)` after rendering: each frame's music state goes to OSC out (the
  state the performer carried, else the one the source knows: the demo's score), the newest frame
  and the audio to NDI;
* `hud_lines(now)` for the HUD, `waiting_pickup()` for its pick-up line, `release_knobs()` after
  a preset switch, `stop()` at the end.

Each output runs on its own thread behind a bounded queue (see osc_out, osc_in, ndi_out), so
nothing here blocks the frame loop.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from synesthete.controls import ControlState
from synesthete.music_events import DetectorConfig


class Links:
    def __init__(self, osc_out: Sequence[tuple[str, int]] = (), osc_in: int | None = None,
                 osc_in_host: str = "127.0.0.1", ndi: str | None = None, ndi_size: tuple[int, int] | None = None,
                 fps: float = 60.0, sample_rate: int = 24_000, detector: DetectorConfig | None = None) -> None:
        """Opens every link asked for (raises OscError / NdiError with one line when one cannot open)."""
        self.osc_out = self.osc_in = self.osc_map = self.ndi = None
        self._audio_carry: list[np.ndarray] = []
        self.no_state_frames = 0  # frames OSC out had no music state for (a source that knows none)
        self.stale_frames = 0  # frames whose state was not newer than the last one sent (see publish)
        self._last_time = float("-inf")
        try:
            if osc_in is not None:
                from synesthete_live.osc_in import OscControlMap, OscIn

                self.osc_in = OscIn(osc_in, osc_in_host).start()
                self.osc_map = OscControlMap()
            if ndi is not None:
                from synesthete_live.ndi_out import NdiOut

                if ndi_size is None:
                    raise ValueError("NDI needs a size (the window size or --ndi-size)")
                self.ndi = NdiOut(ndi, ndi_size, fps, sample_rate).start()
            if osc_out:
                from synesthete_live.osc_out import OscOut

                self.osc_out = OscOut(osc_out, fps, detector=detector).start()
        except BaseException:
            self.stop()
            raise

    @property
    def active(self) -> bool:
        return any(x is not None for x in (self.osc_out, self.osc_in, self.ndi))

    # ---- render thread -----------------------------------------------------------------------
    def control_events(self, controls: ControlState) -> list[dict]:
        if self.osc_in is None:
            return []
        out: list[dict] = []
        for request in self.osc_in.poll():
            events = self.osc_map.events(request, controls)
            if isinstance(events, str):
                self.osc_in.reject(events)
            else:
                out += events
        return out

    def reject(self, text: str) -> None:
        """An OSC action that could not apply (e.g. an unknown preset name): counted, on the HUD."""
        if self.osc_in is not None:
            self.osc_in.reject(text)

    def set_detector(self, config: DetectorConfig | None) -> None:
        """OSC out reads events with `config` from now on (the hearing model changed)."""
        if self.osc_out is not None:
            self.osc_out.set_detector(config)

    def publish(self, frames: list, audio: np.ndarray, source) -> None:
        if self.osc_out is not None:
            for frame in frames:
                state = getattr(frame, "music_state", None)
                if state is None:
                    state = source.music_state_at(frame.capture_time)
                if state is None:
                    self.no_state_frames += 1
                elif float(state.time[0]) <= self._last_time:
                    # After a source stall the loop fills silence stamped "now"; the audio that then
                    # arrives is older. Receivers get time moving forward only: the older frames are skipped.
                    self.stale_frames += 1
                else:
                    self._last_time = float(state.time[0])
                    self.osc_out.submit(state)
        if self.ndi is not None:
            if audio.size:
                self._audio_carry.append(audio)
            drawn = [f for f in frames if f.image is not None]  # a performer may skip drawing unshown frames
            if drawn:
                sound = np.concatenate(self._audio_carry) if self._audio_carry else None
                self._audio_carry.clear()
                self.ndi.submit(drawn[-1].image, sound)

    def release_knobs(self) -> None:
        if self.osc_map is not None:
            self.osc_map.knobs.release()

    def waiting_pickup(self) -> list[str]:
        return self.osc_map.waiting_pickup() if self.osc_map is not None else []

    def hud_lines(self, now: float) -> list[tuple[str, bool]]:
        """(text, warn) per link; warn when something recently went wrong."""
        lines = []
        if self.osc_out is not None:
            line = self.osc_out.hud_line(now)
            if self.no_state_frames or self.stale_frames:
                line += f"  {self.no_state_frames + self.stale_frames} frames without a (new) music state"
            lines.append((line, self.osc_out.dropped > 0 or self.osc_out.errors > 0))
        if self.osc_in is not None:
            last = self.osc_in.last_bad
            lines.append((self.osc_in.hud_line(now), last is not None and now - last[1] < 5.0))
        if self.ndi is not None:
            lines.append((self.ndi.hud_line(), self.ndi.dropped > 0))
        return lines

    def summary(self) -> dict:
        s: dict = {}
        if self.osc_out is not None:
            s.update(osc_out_frames=self.osc_out.sent, osc_out_events=self.osc_out.events_sent,
                     osc_out_dropped=self.osc_out.dropped, osc_out_errors=self.osc_out.errors,
                     osc_out_no_state=self.no_state_frames, osc_out_stale=self.stale_frames)
        if self.osc_in is not None:
            s.update(osc_in_received=self.osc_in.received, osc_in_accepted=self.osc_in.accepted,
                     osc_in_bad=self.osc_in.bad, osc_in_superseded=self.osc_in.superseded)
        if self.ndi is not None:
            s.update(ndi_sent=self.ndi.sent, ndi_dropped=self.ndi.dropped)
        return s

    def stop(self) -> None:
        """Stop every link (idempotent); each finishes what is queued for up to 2 s."""
        for name in ("osc_in", "osc_out", "ndi"):
            link = getattr(self, name)
            if link is not None:
                link.stop()
