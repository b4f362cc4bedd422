"""Where a video avatar's output frames come from: the clip's planned loop, and a small LRU cache.

Both engines render a clip the same way: output frame i shows prepared frame reader.order(n)[i]
(loop.py: forward, looping where the clip's frames match), so a short clip covers speech of any
length with no visible jump. Per-clip-frame work an engine keeps (Wav2Lip's face-encoder terms)
goes into a bounded `LRU`, so that a long clip never holds all of its frames in memory.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Hashable

from ..clip import ClipReader


def clip_indices(reader: ClipReader, start: int, stop: int) -> list[int]:
    """Prepared-frame indices of output frames start..stop-1 of a clip."""
    return [int(k) for k in reader.order(stop)[start:stop]]


class LRU:
    """A dict of at most `capacity` entries; the least recently used one goes first (`on_evict` is told)."""

    def __init__(self, capacity: int, on_evict: Callable[[Hashable, object], None] | None = None):
        self.capacity = max(0, int(capacity))
        self._items: OrderedDict = OrderedDict()
        self._on_evict = on_evict

    def get(self, key: Hashable, default=None):
        """The value under `key`, now the most recently used; `default` when absent."""
        if key not in self._items:
            return default
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: Hashable, value) -> None:
        """Store `value`, evicting the least recently used entries beyond the capacity."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._evict(*self._items.popitem(last=False))

    def pop(self, key: Hashable) -> None:
        """Forget `key` (its eviction is reported)."""
        if key in self._items:
            self._evict(key, self._items.pop(key))

    def drop(self, match: Callable[[Hashable], bool]) -> None:
        """Forget every key for which `match` is true."""
        for key in [k for k in self._items if match(k)]:
            self.pop(key)

    def _evict(self, key, value) -> None:
        if self._on_evict is not None:
            self._on_evict(key, value)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def values(self):
        return list(self._items.values())
