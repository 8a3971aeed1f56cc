"""The hand-off from the render thread to one sender thread (OSC out, NDI out): bounded, never blocks.

The render thread `put`s; when the queue is full the OLDEST item is dropped and counted (a live
show prefers fresh data), optionally merged into the new one first (NDI carries a dropped frame's
audio over, so the sound stays whole). The sender thread `get`s, waiting while it is empty, and gets
None once `close` was called and the queue is drained. The condition's lock is held only for one
append or pop. `submitted` and `dropped` are written by the producer only.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class SendQueue(Generic[T]):
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"a send queue needs room for at least one item, got {capacity}")
        self.capacity = int(capacity)
        self._items: deque[T] = deque()
        self._cond = threading.Condition()  # guards `_items` and `_closed`
        self._closed = False
        self.submitted = 0  # producer
        self.dropped = 0  # producer

    def put(self, item: T, merge: Callable[[T, T], T] | None = None) -> None:
        """Queue `item`; when full, drop the oldest (merged into `item` by `merge(old, item)` if given)."""
        with self._cond:
            if len(self._items) >= self.capacity:
                old = self._items.popleft()
                self.dropped += 1
                if merge is not None:
                    item = merge(old, item)
            self._items.append(item)
            self._cond.notify()
        self.submitted += 1

    def get(self) -> T | None:
        """The oldest item, waiting while there is none; None once closed and drained."""
        with self._cond:
            while not self._items and not self._closed:
                self._cond.wait()
            return self._items.popleft() if self._items else None

    def close(self) -> None:
        """Let the consumer drain what is queued, then see None."""
        with self._cond:
            self._closed = True
            self._cond.notify()
