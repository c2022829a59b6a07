"""A dictionary that forgets its least recently used entries past ``limit`` (a class attribute)."""

from __future__ import annotations

from collections import OrderedDict


class LRUCache(OrderedDict):
    limit = 128

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def get(self, key, default=None):
        value = super().get(key, default)
        if value is not default:
            self.move_to_end(key)
        return value

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        if len(self) > self.limit:
            self.popitem(last=False)
