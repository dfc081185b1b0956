"""Blocking work off the event loop, on threads of the package's own.

Converting an input image, decoding an answer's base64 into files and pruning old
outputs take from milliseconds to seconds each. On asyncio's default executor
(min(32, CPUs + 4) threads: 6 on 2 cores) a few slow conversions would stall every
other prediction's decoding. This pool has a thread for every prediction the
container runs at once (COG_MAX_CONCURRENCY, which `cog build` sets from cog.yaml's
concurrency.max), and each prediction runs one step at a time, so no prediction's
step ever waits for another's; one more thread does the housekeeping.
"""

import asyncio
import contextlib
import functools
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

HOUSEKEEPING_THREADS = 1  # pruning old outputs, handing memory back


def _slots() -> int:
    """How many predictions this container runs at once."""
    try:
        return max(1, int(os.environ.get("COG_MAX_CONCURRENCY", "1")))
    except ValueError:
        return 1


# Threads start only when needed, so an idle container holds none.
_POOL = ThreadPoolExecutor(
    max_workers=_slots() + HOUSEKEEPING_THREADS, thread_name_prefix="gpt-image"
)


async def run_blocking(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run function in the pool and wait for it.

    A thread cannot be stopped: if the prediction is cancelled meanwhile, this waits
    for the thread to finish before the cancellation goes on, so cleanup that follows
    never races a thread still writing a file.
    """
    future = asyncio.get_running_loop().run_in_executor(
        _POOL, functools.partial(function, *args, **kwargs)
    )
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await future  # its outcome no longer matters; only that it is over
        raise


def start_blocking(function: Callable[[], object]) -> Future[object]:
    """Start housekeeping in the pool without waiting for it."""
    return _POOL.submit(function)
