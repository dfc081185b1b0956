"""Unit tests: blocking work runs on the package's own threads, one per slot."""

import asyncio
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from gpt_image.blocking import run_blocking
from tools.cog_schema import PROJECT_DIR

# Each of `slots` predictions runs a blocking step that waits until all of them are
# running: it can only finish if every one has a thread at once. asyncio's default
# executor has min(32, CPUs + 4) threads (6 on 2 cores), so 8 would wait there forever.
ALL_AT_ONCE = textwrap.dedent(
    """
    import asyncio, sys, threading
    from gpt_image.blocking import run_blocking

    slots = int(sys.argv[1])
    together = threading.Barrier(slots, timeout=60)

    async def main():
        await asyncio.gather(*(run_blocking(together.wait) for _ in range(slots)))

    asyncio.run(main())
    print("all ran at once")
    """
)


@pytest.mark.parametrize("slots", [8, 32])
def test_every_slot_has_a_thread_of_its_own(slots: int) -> None:
    env = {**os.environ, "COG_MAX_CONCURRENCY": str(slots)}
    result = subprocess.run(
        [sys.executable, "-c", ALL_AT_ONCE, str(slots)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.strip() == "all ran at once", result.stderr


def test_a_cancelled_step_is_over_before_the_cancellation_goes_on() -> None:
    """Cleanup after a cancel never races a thread still writing a file."""
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def step() -> None:
        started.set()
        release.wait(60)
        finished.set()

    async def main() -> bool:
        task = asyncio.create_task(run_blocking(step))
        await asyncio.to_thread(started.wait, 60)
        task.cancel()
        await asyncio.sleep(0.05)
        assert not task.done()  # still waiting for the thread
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        return finished.is_set()

    assert asyncio.run(main())
