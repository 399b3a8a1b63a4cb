"""``python -m benchmarks``: the same as ``python -m benchmarks.compare``."""

from .compare import main

raise SystemExit(main())
