"""MIDI sources as text: "cc:21", "cc:1:21", "note:36", "note:10:36" (the `midi` table of a preset).

Part of the preset format, so it lives in the core beside `synesthete.preset`: a preset is checked
by the same rules whether `synesthete-live` or `synesthete-render` reads it. The live app's MIDI
map (`synesthete_live.midi_map`) binds these sources to controls.
"""

from __future__ import annotations

from dataclasses import dataclass


class MidiMapError(ValueError):
    """A MIDI source text or binding is malformed; the message says what is allowed."""


@dataclass(frozen=True)
class MidiSource:
    kind: str  # "cc" or "note"
    channel: int | None  # 0..15, or None for any channel
    number: int  # 0..127

    @classmethod
    def parse(cls, text: str) -> "MidiSource":
        parts = str(text).strip().lower().split(":")
        allowed = "'cc:NUMBER', 'cc:CHANNEL:NUMBER', 'note:NUMBER' or 'note:CHANNEL:NUMBER' (channel 1-16, number 0-127)"
        if len(parts) not in (2, 3) or parts[0] not in ("cc", "note"):
            raise MidiMapError(f"MIDI source {text!r}: expected {allowed}")
        try:
            nums = [int(p) for p in parts[1:]]
        except ValueError:
            raise MidiMapError(f"MIDI source {text!r}: expected {allowed}") from None
        channel = None
        if len(nums) == 2:
            if not 1 <= nums[0] <= 16:
                raise MidiMapError(f"MIDI source {text!r}: channel must be 1-16")
            channel = nums[0] - 1
        if not 0 <= nums[-1] <= 127:
            raise MidiMapError(f"MIDI source {text!r}: number must be 0-127")
        return cls(parts[0], channel, nums[-1])

    def __str__(self) -> str:
        chan = "" if self.channel is None else f"{self.channel + 1}:"
        return f"{self.kind}:{chan}{self.number}"

    def overlaps(self, other: "MidiSource") -> bool:
        return (self.kind == other.kind and self.number == other.number
                and (self.channel is None or other.channel is None or self.channel == other.channel))

    def matches(self, kind: str, channel: int, number: int) -> bool:
        return self.kind == kind and self.number == number and self.channel in (None, channel)
