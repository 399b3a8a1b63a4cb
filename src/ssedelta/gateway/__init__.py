"""ssedelta in a gateway: tap a stream on its way through, re-encode chunks, replay completions.

>>> from ssedelta.gateway import AsyncTap
>>> tap = AsyncTap(upstream.aiter_raw(), on_end=log_it)      # doctest: +SKIP
>>> async for piece in tap:                                  # doctest: +SKIP
...     await client.write(piece)

The logging proxy (``ssedelta proxy``) is :mod:`ssedelta.gateway.proxy`; it needs aiohttp
(``pip install 'ssedelta[proxy]'``).
"""

from __future__ import annotations

from .encode import DONE_EVENT, encode_sse
from .replay import replay_chunks, replay_dicts, replay_sse
from .tap import AsyncTap, Segment, Tap

__all__ = [
    "DONE_EVENT",
    "AsyncTap",
    "Segment",
    "Tap",
    "encode_sse",
    "replay_chunks",
    "replay_dicts",
    "replay_sse",
]
