"""Runs already computed, kept for the next request: when a slider moves one optimizer's lr,
the other runs of the race come back from here and only the changed one is computed.

A run is the same run when the formula, the starts, the optimizer with all its settings, the
step limit, ``eps`` and the direction are the same (its rows do not depend on the other
runs: every update rule is elementwise per row). Runs stopped by the clock are not kept.
The cache holds at most ``MAX_VALUES`` numbers in all, least recently used first out.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

#: numbers (path coordinates and values) kept in all: about 100 MB as Python floats
MAX_VALUES = 3_000_000


class RunCache:
    def __init__(self, max_values: int = MAX_VALUES):
        self.max_values = max_values
        self._items: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(*parts: Any) -> str:
        return json.dumps(parts, sort_keys=True, default=str)

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: str, value: Any, size: int) -> None:
        if size > self.max_values:
            return
        with self._lock:
            if key in self._items:
                self._size -= self._items.pop(key)[1]
            self._items[key] = (value, size)
            self._size += size
            while self._size > self.max_values:
                _, (_, old) = self._items.popitem(last=False)
                self._size -= old

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


RUNS = RunCache()
