"""The words of the merge rule tables: what becomes of a key's value when a later delta carries the key again.

A format declares, per object of its deltas, a :class:`Table` of these rules (``chat/_rules.py``);
both of its mergers read that table: the Python one interprets it, the native one compiles it into
its lookup structures when its module loads and checks there that it knows every key the table names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

__all__ = [
    "APPEND",
    "BY_INDEX",
    "BY_INDEX_TYPE",
    "BY_VALUE",
    "CONCAT",
    "FIRST",
    "IGNORE",
    "KEY",
    "LAST",
    "MERGE",
    "ONCE",
    "RULES",
    "Table",
]

#: Strings are concatenated, in arrival order.
CONCAT = "concat"
#: Set once: the first non-empty value stays, a repeated one is not doubled.
ONCE = "once"
#: The first non-empty value (a stream that only ever sends ``""`` keeps ``""``).
FIRST = "first"
#: The last non-null value.
LAST = "last"
#: The items of each list are appended.
APPEND = "append"
#: A list of objects keyed by their ``index``, each merged by its own table.
BY_INDEX = "by_index"
#: A list of objects keyed by (``index``, ``type``): a new ``type`` at an index already used is a new
#: item; a fragment without a string ``type`` continues the item the latest fragment at its index went to.
BY_INDEX_TYPE = "by_index_type"
#: An object merged key by key.
MERGE = "merge"
#: The key its object is filed under (an ``index``).
KEY = "key"
#: Read and checked, never kept.
IGNORE = "ignore"
#: By the value's type: a string is concatenated (:data:`CONCAT`), an object merged (:data:`MERGE`), a
#: non-empty list of objects that all carry an integer ``index`` merged by (``index``, ``type``)
#: (:data:`BY_INDEX_TYPE`), any other list appended (:data:`APPEND`), anything else the last value.
BY_VALUE = "by_value"

RULES = frozenset({CONCAT, ONCE, FIRST, LAST, APPEND, BY_INDEX, BY_INDEX_TYPE, MERGE, KEY, IGNORE, BY_VALUE})


class Table(NamedTuple):
    """The rules of one object of a delta: per key, and for every key it does not name."""

    keys: Mapping[str, str]
    unknown: str

    def rule(self, key: str) -> str:
        return self.keys.get(key, self.unknown)

    def having(self, *rules: str) -> frozenset[str]:
        """The keys whose rule is one of ``rules``."""
        return frozenset(key for key, rule in self.keys.items() if rule in rules)
