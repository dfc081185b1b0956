"""Give memory back to the system when the container goes idle.

Heavy answers are decoded in worker threads, and glibc keeps the memory they freed
in its arenas; after a busy spell the worker would stay hundreds of MiB above idle.
malloc_trim returns it. Where the C library has no malloc_trim (musl, macOS) this
does nothing.
"""

import ctypes
import ctypes.util

_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None)
_MALLOC_TRIM = getattr(_LIBC, "malloc_trim", None)


def release_free_memory() -> None:
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
