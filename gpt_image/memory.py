"""Give memory back to the system when the worker goes idle.

Heavy answers are decoded in worker threads, and glibc keeps the memory they freed
in its arenas: after a busy spell the worker would stay 100 to 200 MiB above idle.
malloc_trim returns it. It briefly locks the allocator, so it runs only when no
prediction at all is in flight in this process. Where the C library has no
malloc_trim (musl, macOS) this does nothing.
"""

import ctypes
import ctypes.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gpt_image.blocking import run_blocking

_MALLOC_TRIM = getattr(ctypes.CDLL(ctypes.util.find_library("c")), "malloc_trim", None)
_in_flight = 0  # predictions running in this process


@asynccontextmanager
async def memory_released_when_idle() -> AsyncIterator[None]:
    """Around one prediction: the last one to finish hands freed memory back."""
    global _in_flight
    _in_flight += 1
    try:
        yield
    finally:
        _in_flight -= 1
        if _in_flight == 0 and _MALLOC_TRIM is not None:
            await run_blocking(_MALLOC_TRIM, 0)
