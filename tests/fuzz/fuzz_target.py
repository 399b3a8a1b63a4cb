"""atheris entry point: ``python tests/fuzz/fuzz_target.py TARGET [libFuzzer options] [CORPUS ...]``.

TARGET is ``tokenizer``, ``decoder``, ``merger`` or ``refeed`` (see ``oracle.py``). The
pure-Python twin, the models and the oracle are instrumented, so the twin's
branches guide the search; the native core runs under the sanitizers when it
was built with ``SSEDELTA_SANITIZE=1`` and the interpreter started with the
sanitizer runtime preloaded (``run.py`` does both). A difference between the
backends raises ``AssertionError``, which libFuzzer reports as a crash and
saves as ``crash-*`` in the working directory.
"""

from __future__ import annotations

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

with atheris.instrument_imports(include=["ssedelta", "oracle"]):
    import oracle


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in oracle.TARGETS:
        raise SystemExit(f"usage: {sys.argv[0]} {{{','.join(oracle.TARGETS)}}} [libFuzzer options]")
    check = oracle.TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
