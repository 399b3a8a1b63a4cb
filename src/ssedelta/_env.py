"""The one switch between the native core and the pure-Python twin."""

from __future__ import annotations

import os
import sys

#: Any non-empty value of ``SSEDELTA_NO_EXTENSIONS`` (even ``"0"``) selects the
#: pure-Python twin, at build time and at import time. Non-CPython interpreters
#: always use the twin.
NO_EXTENSIONS: bool = bool(os.environ.get("SSEDELTA_NO_EXTENSIONS"))
if sys.implementation.name != "cpython":
    NO_EXTENSIONS = True
