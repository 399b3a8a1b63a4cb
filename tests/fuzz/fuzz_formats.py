"""atheris entry point of the format targets: ``python tests/fuzz/fuzz_formats.py TARGET [options]``.

TARGET is ``responses`` or ``anthropic`` (see ``formats_oracle.py``); the twins guide the search,
as in ``fuzz_target.py``.
"""

from __future__ import annotations

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

with atheris.instrument_imports(include=["ssedelta", "formats_oracle"]):
    import formats_oracle


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in formats_oracle.TARGETS:
        raise SystemExit(f"usage: {sys.argv[0]} {{{','.join(formats_oracle.TARGETS)}}} [libFuzzer options]")
    atheris.Setup([sys.argv[0], *sys.argv[2:]], formats_oracle.TARGETS[sys.argv[1]])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
