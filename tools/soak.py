"""Soak: every slot of the real prediction server busy with heavy answers while
OpenAI fails in every way it can, and callers cancel some predictions.

Each prediction's prompt names the fault the stand-in gives it (FAULT_PLANS), so its
right final state is known: the report compares them, and counts what must stay at
zero (5xx answers from the server, the key in any log, half-written or orphaned
output files) and the worker's memory before and after. `python -m tools.benchmark
--only soak` runs it for minutes; tests/test_soak.py for seconds.
"""

import asyncio
import itertools
import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from gpt_image.outputs import KEEP_SECONDS
from tools.cog_server import CogServer, rss
from tools.openai_standin import StandIn

KEY = "sk-soak-0123456789abcdefghij"
RETRIES = 2
MIB = 1024 * 1024

# Kind of prediction: the final state it must end in, and what its error must say.
EXPECTED: dict[str, tuple[str, str | None]] = {
    "ok": ("succeeded", None),
    "500-once": ("succeeded", None),
    "429-once": ("succeeded", None),
    "drop-once": ("succeeded", None),
    "cut-late": ("succeeded", None),  # with the images that arrived whole
    "cut-early-once": ("succeeded", None),  # sent again: nothing had arrived
    "usage-trimmed": ("succeeded", None),  # the cost is not estimated, that is all
    "500-always": ("failed", "OpenAI had a server error (500) after 2 retries."),
    "cut-early": ("failed", "OpenAI's answer broke off"),
    "slow": ("failed", "and the request was not sent again"),
    "cancel": ("canceled", None),
}


@dataclass
class SoakReport:
    seconds: float
    concurrency: int
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, verdict)
    server_5xx: int = 0
    key_in_logs: int = 0
    worker_idle: int = 0
    worker_after: int = 0
    output_dirs: int = 0
    succeeded: int = 0
    partial_files: int = 0
    stale_files: int = 0

    @property
    def wrong(self) -> int:
        return sum(n for (_, verdict), n in self.outcomes.items() if verdict != "as expected")

    def wrong_ones(self) -> list[str]:
        return [
            f"  - {kind}, {n}x: {verdict[:160]}"
            for (kind, verdict), n in self.outcomes.most_common()
            if verdict != "as expected"
        ][:8]

    def table(self) -> list[str]:
        rows = [
            f"Soak: {self.seconds:.0f} s, {self.concurrency} predictions at once, heavy "
            "answers, every fault below, some predictions cancelled:",
            "",
            "| kind | should end | predictions | as expected |",
            "| --- | --- | ---: | ---: |",
        ]
        for kind, (state, _) in EXPECTED.items():
            total = sum(n for (k, _), n in self.outcomes.items() if k == kind)
            right = self.outcomes[(kind, "as expected")]
            rows.append(f"| {kind} | {state} | {total} | {right} |")
        rows += [
            "",
            f"- predictions not ending as they should: {self.wrong}",
            *self.wrong_ones(),
            f"- 5xx answers from the server: {self.server_5xx}",
            f"- the key in the server's log or any answer: {self.key_in_logs}",
            f"- worker memory: {self.worker_idle / MIB:.0f} MiB idle before, "
            f"{self.worker_after / MIB:.0f} MiB idle after",
            f"- output directories: {self.output_dirs}, one per succeeded prediction "
            f"({self.succeeded}); half-written files: {self.partial_files}; files older "
            f"than the keep window: {self.stale_files}",
        ]
        return rows


def run_soak(
    seconds: float, concurrency: int, images: int, today: Any, timeout: float
) -> SoakReport:
    """`timeout` is the server's OPENAI_TIMEOUT: long enough for a heavy answer on a
    loaded machine; "slow" answers take four times as long."""
    report = SoakReport(seconds, concurrency)
    standin = StandIn(heavy=True, today=today)
    standin.slow_seconds = 4 * timeout
    standin.start()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        env = {
            "OPENAI_BASE_URL": standin.base_url,
            "OPENAI_TIMEOUT": str(timeout),
            "OPENAI_MAX_RETRIES": str(RETRIES),
            "COG_MAX_CONCURRENCY": str(concurrency),
            "TMPDIR": tmp,  # the worker's output root, counted afterwards
            # Every succeeded prediction's files are counted afterwards: none may be
            # pruned for taking room (minutes of heavy answers are many GB).
            "OUTPUT_RETENTION_MB": str(10**9),
        }
        server = CogServer(env=env).start()
        try:
            worker = server.worker_pid()
            report.worker_idle = rss(worker)
            asyncio.run(_load(server, standin, report, seconds, concurrency, images))
            time.sleep(2)  # let the last answers go and memory settle
            report.worker_after = rss(worker)
            report.key_in_logs += server.logs().count(KEY)
        finally:
            server.stop()
            standin.stop()
        _count_outputs(Path(tmp), report)
    return report


async def _load(
    server: CogServer,
    standin: StandIn,
    report: SoakReport,
    seconds: float,
    concurrency: int,
    images: int,
) -> None:
    kinds = itertools.cycle(EXPECTED)
    numbers = itertools.count()
    deadline = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def caller() -> None:
            while time.monotonic() < deadline:
                kind, number = next(kinds), next(numbers)
                result = await _predict(session, server, standin, kind, f"soak-{number}", images)
                report.outcomes[(kind, _verdict(kind, result, images))] += 1
                report.server_5xx += result["http_status"] >= 500
                report.key_in_logs += json.dumps(result).count(KEY)

        await asyncio.gather(*(caller() for _ in range(concurrency)))


async def _predict(
    session: aiohttp.ClientSession,
    server: CogServer,
    standin: StandIn,
    kind: str,
    pid: str,
    images: int,
) -> dict[str, Any]:
    fault = "slow" if kind == "cancel" else kind
    prompt = f"soak {pid}" + ("" if kind == "ok" else f" [fault:{fault}]")
    inputs = {
        "openai_api_key": KEY,
        "prompt": prompt,
        "number_of_images": images,
        "aspect_ratio": "3:2",
        "output_format": "png",
    }
    canceller = None
    if kind == "cancel":  # once its request is waiting upstream
        canceller = asyncio.create_task(_cancel(session, server, standin, pid, prompt))
    try:
        while True:  # a slot frees a moment after its answer: retry 409 as cog clients do
            async with session.post(
                f"{server.url}/predictions", json={"id": pid, "input": inputs}
            ) as response:
                body = await response.json(content_type=None)
            if response.status != 409:
                return {"http_status": response.status, **body}
            await asyncio.sleep(0.05)
    finally:
        if canceller is not None:
            canceller.cancel()


async def _cancel(
    session: aiohttp.ClientSession, server: CogServer, standin: StandIn, pid: str, prompt: str
) -> None:
    deadline = time.monotonic() + 120
    while not any(r.json and r.json.get("prompt") == prompt for r in list(standin.requests)):
        if time.monotonic() > deadline:
            return  # never arrived: the report shows it did not end canceled
        await asyncio.sleep(0.05)
    async with session.post(f"{server.url}/predictions/{pid}/cancel") as response:
        await response.read()


def _verdict(kind: str, result: dict[str, Any], images: int) -> str:
    state, message = EXPECTED[kind]
    if result.get("status") != state:
        return f"{result.get('status')}: {result.get('error')}"
    if message is not None and message not in (result.get("error") or ""):
        return f"wrong message: {result.get('error')}"
    outputs = len(result.get("output") or [])
    if kind == "cut-late" and not 0 < outputs < images:
        return f"{outputs} images"
    if state == "succeeded" and kind != "cut-late" and outputs != images:
        return f"{outputs} images"
    return "as expected"


def _count_outputs(tmp: Path, report: SoakReport) -> None:
    report.succeeded = sum(
        n
        for (kind, verdict), n in report.outcomes.items()
        if verdict == "as expected" and EXPECTED[kind][0] == "succeeded"
    )
    cutoff = time.time() - KEEP_SECONDS
    for root in tmp.glob("gpt-image-outputs-*"):
        for directory in root.iterdir():
            report.output_dirs += 1
            for file in directory.iterdir():
                report.partial_files += file.name.endswith(".partial")
                report.stale_files += file.stat().st_mtime < cutoff
