"""Benchmark: the prediction server against the openai SDK called directly.

Both talk to the stand-in OpenAI server (in a process of its own) with the same
upstream latency, on this machine. Prints Markdown tables:

- throughput at 1, 8, 32 and concurrency.max simultaneous predictions, as a ratio
  to the ideal (slots / latency), next to the SDK called directly;
- overhead per prediction over a direct SDK call at zero upstream latency;
- peak memory of the server at full load with the largest payloads, outputs inlined
  and uploaded (--upload-url);
- capacity: a container's peak with every slot (--slots) receiving the heaviest answer;
- cold start, process start to READY;
- the event loop: the longest the predictor's loop is held while a heavy edit
  runs, and the worst wait of light predictions beside it;
- CPU: the worker's per MB of answer against the SDK's, ten PNGs at two sizes;
- with --only soak: minutes of heavy load under every upstream fault (tools/soak.py).

    python -m tools.benchmark [--latency 1.0] [--rounds 4] [--only event-loop]
    python -m tools.benchmark --only capacity --slots 48
    python -m tools.benchmark --only cpu --rounds 3
"""

import argparse
import asyncio
import base64
import contextlib
import io
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import openai
from cog import Secret

from gpt_image.models import DEFAULT_MODEL
from predict import Predictor
from tests.images import noise_png
from tools.cog_schema import DEFAULT_CONFIG, GPT_IMAGE_2_5_CONFIGS, GPT_IMAGE_2_CONFIG
from tools.cog_server import (
    CogServer,
    container_env,
    free_port,
    rss,
)
from tools.openai_standin import _render_noise
from tools.soak import run_soak

KEY = "sk-benchmark-0123456789"
REQUEST = {"openai_api_key": KEY, "prompt": "a lighthouse at dusk"}


# coglet 0.23.1 opens a new connection for every output it uploads, all at once: with
# a backlog of 5, 1 to 6 of 32 heavy predictions failed their upload; with 1024, none.
UPLOAD_BACKLOG = 1024


@contextmanager
def standin(latency: float, heavy: bool = False) -> Iterator[str]:
    """The stand-in in a process of its own, also the endpoint of --upload-url (PUT
    /uploads/<name>); yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "tools.openai_standin", "--port", str(port)]
    command += ["--latency", str(latency), "--backlog", str(UPLOAD_BACKLOG)]
    command += ["--heavy"] if heavy else []
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait()


def wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


# The same interface with nothing behind it: what cog itself costs per prediction.
TRIVIAL_PREDICTOR = "tools/trivial_predictor.py:Predictor"


def upload_url(base_url: str) -> str:
    """Where the stand-in at `base_url` takes uploaded outputs."""
    return base_url.removesuffix("/v1") + "/uploads/"


@contextmanager
def cog_server(
    base_url: str,
    env: dict[str, str] | None = None,
    upload: bool = False,
    config: str = DEFAULT_CONFIG,
) -> Iterator[CogServer]:
    """The prediction server of the build against the stand-in; with `upload`, outputs
    are PUT to the stand-in (`--upload-url`) instead of inlined as data URIs."""
    # The stand-in's heavy answers take this shared 2-core machine far longer than
    # OpenAI's network would: no bound on a prediction's whole time here.
    settings = {"OPENAI_BASE_URL": base_url, "PREDICTION_TIMEOUT": "3600", **(env or {})}
    server = CogServer(
        env=settings,
        upload_url=upload_url(base_url) if upload else None,
        config=config,
    ).start()
    try:
        yield server
    finally:
        server.stop()


async def through_server(
    server: CogServer, concurrency: int, total: int, inputs: dict[str, Any]
) -> list[float]:
    """Seconds per prediction, `concurrency` at a time; 409s (slot not yet free) retried."""
    queue = list(range(total))
    durations: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            while queue:
                queue.pop()
                started = time.perf_counter()
                while True:
                    async with session.post(
                        f"{server.url}/predictions", json={"input": inputs}
                    ) as response:
                        body = await response.json()
                    if response.status != 409:
                        break
                    await asyncio.sleep(0.01)
                assert body.get("status") == "succeeded", body.get("error")
                durations.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return durations


async def direct_sdk(base_url: str, concurrency: int, total: int) -> list[float]:
    """The same generation with the openai SDK alone, decoding its images as the model does."""
    client = openai.AsyncOpenAI(api_key=KEY, base_url=base_url)
    queue = list(range(total))
    durations: list[float] = []

    async def worker() -> None:
        while queue:
            queue.pop()
            started = time.perf_counter()
            response = await client.images.generate(
                model=DEFAULT_MODEL, prompt=REQUEST["prompt"], output_format="webp"
            )
            for image in response.data or []:
                base64.b64decode(image.b64_json or "")
            durations.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await client.close()
    return durations


def timed(run: Coroutine[Any, Any, Any]) -> float:
    started = time.perf_counter()
    asyncio.run(run)
    return time.perf_counter() - started


def throughput_table(latency: float, rounds: int, max_concurrency: int) -> list[str]:
    rows = [
        f"Throughput, upstream latency {latency:g} s, {rounds} rounds per level:",
        "",
        "| simultaneous | server (pred/s) | vs ideal | direct SDK (pred/s) | server / SDK |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    with standin(latency) as url, cog_server(url) as server:
        for level in sorted({1, 8, 32, max_concurrency}):
            total = level * rounds
            server_s = timed(through_server(server, level, total, REQUEST))
            direct_s = timed(direct_sdk(url, level, total))
            server_rate, direct_rate = total / server_s, total / direct_s
            ideal = level / latency
            rows.append(
                f"| {level} | {server_rate:.2f} | {server_rate / ideal:.3f} | "
                f"{direct_rate:.2f} | {server_rate / direct_rate:.3f} |"
            )
    return rows


def overhead_table(count: int) -> list[str]:
    with standin(0.0) as url, cog_server(url) as server:
        asyncio.run(through_server(server, 1, 20, REQUEST))  # warm up both
        asyncio.run(direct_sdk(url, 1, 20))
        via_server = asyncio.run(through_server(server, 1, count, REQUEST))
        direct = asyncio.run(direct_sdk(url, 1, count))

    def ms(values: list[float], q: int) -> float:
        return 1000 * statistics.quantiles(values, n=100)[q - 1] if q < 100 else 0.0

    server_p50, direct_p50 = 1000 * statistics.median(via_server), 1000 * statistics.median(direct)
    server_p95, direct_p95 = ms(via_server, 95), ms(direct, 95)
    return [
        f"Overhead per prediction at zero upstream latency, {count} sequential predictions:",
        "",
        "| | median (ms) | p95 (ms) |",
        "| --- | ---: | ---: |",
        f"| through the server | {server_p50:.1f} | {server_p95:.1f} |",
        f"| openai SDK directly | {direct_p50:.1f} | {direct_p95:.1f} |",
        f"| **overhead** | **{server_p50 - direct_p50:.1f}** | **{server_p95 - direct_p95:.1f}** |",
    ]


@contextmanager
def peak_rss(pids: list[int]) -> Iterator[list[int]]:
    """Samples each process's memory every 20 ms; yields the peaks, filled in when done."""
    peaks = [rss(pid) for pid in pids]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for index, pid in enumerate(pids):
                peaks[index] = max(peaks[index], rss(pid))
            time.sleep(0.02)

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        yield peaks
    finally:
        stop.set()
        thread.join()


@contextmanager
def file_server(files: dict[str, bytes]) -> Iterator[str]:
    """Serves files over HTTP from 127.0.0.1, as a CDN serves Replicate's inputs."""
    with tempfile.TemporaryDirectory() as directory:
        for name, data in files.items():
            (Path(directory) / name).write_bytes(data)
        port = free_port()
        command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
        process = subprocess.Popen(
            [*command, "--directory", directory],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait()


# The heaviest answer: ten 1536x1024 PNGs of random pixels, about 45 MB of images;
# on the gpt-image-2 and GPT Image 2.5 builds, ten 3840x2160 PNGs, about 249 MB.
HEAVY_OUTPUTS = {**REQUEST, "number_of_images": 10, "aspect_ratio": "3:2", "output_format": "png"}
HEAVY_4K = ("ten 3840x2160 PNGs", {**HEAVY_OUTPUTS, "aspect_ratio": "3840x2160"})
HEAVIEST = {
    DEFAULT_CONFIG: ("ten 1536x1024 PNGs", HEAVY_OUTPUTS),
    GPT_IMAGE_2_CONFIG: HEAVY_4K,
    **dict.fromkeys(GPT_IMAGE_2_5_CONFIGS, HEAVY_4K),
}


def capacity_table(slots: int, latency: float, config: str = DEFAULT_CONFIG) -> list[str]:
    """What a container of the build with `slots` slots needs, every slot receiving
    the build's heaviest answer, with outputs inlined and with outputs uploaded."""
    gib, mib = 1024**3, 1024**2
    what, payload = HEAVIEST[config]
    rows = [
        f"Capacity ({config}): {slots} slots (COG_MAX_CONCURRENCY), all receiving {what} at "
        f"once, upstream latency {latency:g} s; the container's peak is the worker's and "
        "coglet's peaks added:",
        "",
        "| outputs | worker peak (MiB) | coglet peak (MiB) | container peak (GiB) "
        "| per slot (MiB) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, upload in (("inlined as data URIs", False), ("uploaded (--upload-url)", True)):
        worker_idle, worker_peak, coglet_idle, coglet_peak = memory_run(
            payload, slots, latency, upload=upload, config=config
        )
        growth = worker_peak - worker_idle + coglet_peak - coglet_idle
        rows.append(
            f"| {name} | {worker_peak / mib:.0f} | {coglet_peak / mib:.0f} | "
            f"{(worker_peak + coglet_peak) / gib:.2f} | {growth / slots / mib:.1f} |"
        )
    return rows


def memory_table(concurrency: int, latency: float) -> list[str]:
    outputs = HEAVY_OUTPUTS
    output_bytes = sum(len(_render_noise(1536, 1024, "png", index)) for index in range(10))
    png = noise_png(1024)
    data_uri = "data:image/png;base64," + base64.b64encode(png).decode()
    mb = 1024 * 1024
    rows = [
        f"Memory at {concurrency} predictions at once, upstream latency {latency:g} s: the "
        "Python worker that runs predict(), with the share cog's own input handling takes "
        "(the same interface with nothing behind it), and coglet's server process apart (MiB):",
        "",
        "| load per prediction | image bytes | worker idle | worker peak | worker per "
        "prediction | of which cog's | coglet per prediction |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    with file_server({"input.png": png}) as files:
        # name: (inputs, image bytes, outputs uploaded with --upload-url)
        loads = {
            "10 outputs of 1536x1024 PNG, inlined as data URIs": (outputs, output_bytes, False),
            "10 outputs of 1536x1024 PNG, uploaded (--upload-url)": (outputs, output_bytes, True),
            f"16 input images of {len(png) / mb:.1f} MB, as URLs": (
                {**REQUEST, "input_images": [f"{files}/input.png"] * 16},
                16 * len(png),
                False,
            ),
            f"16 input images of {len(png) / mb:.1f} MB, as data URIs": (
                {**REQUEST, "input_images": [data_uri] * 16},
                16 * len(png),
                False,
            ),
        }
        for name, (payload, image_bytes, upload) in loads.items():
            worker_idle, worker_peak, coglet_idle, coglet_peak = memory_run(
                payload, concurrency, latency, upload=upload
            )
            cog_alone = memory_run(payload, concurrency, latency, TRIVIAL_PREDICTOR, upload)
            rows.append(
                f"| {name} | {image_bytes / mb:.1f} | {worker_idle / mb:.0f} | "
                f"{worker_peak / mb:.0f} | {(worker_peak - worker_idle) / concurrency / mb:.1f} | "
                f"{(cog_alone[1] - cog_alone[0]) / concurrency / mb:.1f} | "
                f"{(coglet_peak - coglet_idle) / concurrency / mb:.1f} |"
            )
    return rows


def memory_run(
    payload: dict[str, Any],
    concurrency: int,
    latency: float,
    predictor: str | None = None,
    upload: bool = False,
    config: str = DEFAULT_CONFIG,
) -> tuple[int, int, int, int]:
    """Idle and peak memory of the worker, then of coglet's server, for one load."""
    env = {"COG_MAX_CONCURRENCY": str(concurrency)}  # as many slots as predictions
    env |= {"COG_PREDICT_TYPE_STUB": predictor} if predictor else {}
    with standin(latency, heavy=True) as url, cog_server(url, env, upload, config) as server:
        assert server.process is not None
        coglet, worker = server.process.pid, server.worker_pid()
        idle = [rss(worker), rss(coglet)]
        with peak_rss([worker, coglet]) as peaks:
            asyncio.run(through_server(server, concurrency, concurrency, payload))
    return idle[0], peaks[0], idle[1], peaks[1]


# Ten PNGs at the gpt-image-2 build's two heaviest common sizes, for the CPU table.
CPU_SIZES = {"1536x1024": "3:2", "3840x2160": "3840x2160"}


def process_cpu(pid: int) -> float:
    """CPU seconds (user and system, all threads) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def sdk_into_files(base_url: str, size: str, directory: Path) -> tuple[float, int]:
    """The openai SDK called directly for ten PNGs at `size`, each decoded and written
    to a file: (CPU seconds of this process, bytes of base64 in the answer)."""
    client = openai.AsyncOpenAI(api_key=KEY, base_url=base_url, timeout=600)
    started = time.process_time()
    response = await client.images.generate(
        model="gpt-image-2", prompt=REQUEST["prompt"], n=10, size=size, output_format="png"
    )  # type: ignore[call-overload]  # any WxH on the GPT Image 2 line
    answer_bytes = 0
    for index, image in enumerate(response.data or []):
        answer_bytes += len(image.b64_json or "")
        (directory / f"output_{index}.png").write_bytes(base64.b64decode(image.b64_json or ""))
    cpu = time.process_time() - started
    await client.close()
    return cpu, answer_bytes


def cpu_table(rounds: int) -> list[str]:
    """The worker's CPU per MB of answer against the SDK's, for ten PNGs at two sizes:
    each round runs one prediction through the gpt-image-2 build's server and one
    SDK call at each size, side by side, so the ratios come from one run."""
    mb = 1_000_000
    samples: dict[str, list[tuple[float, float]]] = {size: [] for size in CPU_SIZES}
    env = {"OPENAI_API_KEY": ""}
    with (
        standin(0.0, heavy=True) as url,
        cog_server(url, env, config=GPT_IMAGE_2_CONFIG) as server,
        tempfile.TemporaryDirectory() as directory,
    ):
        worker = server.worker_pid()
        for round_ in range(rounds + 1):  # the first round warms up both sides
            for size, aspect_ratio in CPU_SIZES.items():
                inputs = {**HEAVY_OUTPUTS, "aspect_ratio": aspect_ratio}
                before = process_cpu(worker)
                asyncio.run(through_server(server, 1, 1, inputs))
                worker_s = process_cpu(worker) - before
                sdk_s, answer_bytes = asyncio.run(sdk_into_files(url, size, Path(directory)))
                if round_:
                    samples[size].append((worker_s / answer_bytes * mb, sdk_s / answer_bytes * mb))
    rows = [
        f"CPU per MB of answer (base64), ten PNGs of the stand-in's noise, {rounds} rounds: "
        "the worker serving one prediction, and the openai SDK called directly, decoding "
        "and writing the same images to files (ms per MB; median, and lowest to highest):",
        "",
        "| size | worker (ms/MB) | SDK (ms/MB) | worker / SDK |",
        "| --- | ---: | ---: | ---: |",
    ]
    for size, pairs in samples.items():
        worker_ms = [1000 * worker for worker, _ in pairs]
        sdk_ms = [1000 * sdk for _, sdk in pairs]
        ratios = [worker / sdk for worker, sdk in pairs]
        rows.append(
            f"| {size} | {_spread(worker_ms, '.1f')} | {_spread(sdk_ms, '.1f')} "
            f"| {_spread(ratios, '.2f')} |"
        )
    small, large = ([worker for worker, _ in samples[size]] for size in CPU_SIZES)
    per_byte = [big / little for big, little in zip(large, small, strict=True)]
    rows += ["", f"3840x2160 against 1536x1024, per byte, worker: {_spread(per_byte, '.2f')}x."]
    return rows


def _spread(values: list[float], spec: str) -> str:
    return f"{statistics.median(values):{spec}} ({min(values):{spec}} to {max(values):{spec}})"


def cold_start_table(times: int) -> list[str]:
    with standin(0.0) as url:
        starts = []
        for _ in range(times):
            server = CogServer(env={"OPENAI_BASE_URL": url})
            started = time.perf_counter()
            server.start()
            starts.append(time.perf_counter() - started)
            server.stop()
    return [
        f"Cold start, process start to READY, {times} starts: median "
        f"{statistics.median(starts):.2f} s, slowest {max(starts):.2f} s.",
    ]


def predict_inputs(**overrides: Any) -> dict[str, Any]:
    """All 12 inputs with the hosted model's defaults, for calling predict() directly."""
    return {
        "openai_api_key": Secret(KEY),
        "prompt": "a lighthouse at dusk",
        "aspect_ratio": "1:1",
        "input_fidelity": "low",
        "input_images": None,
        "number_of_images": 1,
        "quality": "low",
        "background": "auto",
        "output_compression": 90,
        "output_format": "jpeg",
        "moderation": "auto",
        "user_id": None,
        **overrides,
    }


async def loop_stalls(
    heavy: Predictor, light: Predictor, heavy_inputs: dict[str, Any], light_inputs: dict[str, Any]
) -> tuple[float, float, list[float]]:
    """The longest the loop was held during a heavy prediction, in wall-clock and in
    CPU seconds of the loop's own thread (which waiting for the CPU or the
    interpreter lock does not count), and the light predictions' durations (s) run
    back to back beside it."""
    worst, worst_cpu, lights, running = 0.0, 0.0, [], True

    async def watch() -> None:
        nonlocal worst, worst_cpu
        while running:
            started, started_cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - started - 0.001)
            worst_cpu = max(worst_cpu, time.thread_time() - started_cpu)

    async def light_ones() -> None:
        while running:
            started = time.perf_counter()
            await light.predict(**light_inputs)
            lights.append(time.perf_counter() - started)

    tasks = [asyncio.create_task(watch()), asyncio.create_task(light_ones())]
    await heavy.predict(**heavy_inputs)
    running = False
    await asyncio.gather(*tasks)
    return worst, worst_cpu, lights


def event_loop_table() -> list[str]:
    """predict() called in this process, as coglet's worker calls it, with a heavy
    edit (16 large PNG inputs as JSON data URLs, ten 1536x1024 PNGs back) and light
    generations sharing its event loop."""
    with (
        standin(0.0, heavy=True) as heavy_url,
        standin(0.0) as light_url,
        tempfile.TemporaryDirectory() as directory,
    ):
        paths = []
        for index in range(16):
            paths.append(Path(directory) / f"input_{index}.png")
            paths[-1].write_bytes(noise_png(1024 + index))
        tempfile.tempdir = directory  # the predictors' outputs go with it
        predictors = []
        for url in (heavy_url, light_url):
            os.environ["OPENAI_BASE_URL"] = url
            predictors.append(Predictor())
            predictors[-1].setup()
        heavy_inputs = predict_inputs(
            input_images=paths,
            moderation="low",
            number_of_images=10,
            aspect_ratio="3:2",
            output_format="png",
        )
        light_inputs = predict_inputs()

        async def measure() -> tuple[list[float], float, float, list[float]]:
            alone = []
            for _ in range(20):
                started = time.perf_counter()
                await predictors[1].predict(**light_inputs)
                alone.append(time.perf_counter() - started)
            worst, worst_cpu, beside = await loop_stalls(*predictors, heavy_inputs, light_inputs)
            return alone, worst, worst_cpu, beside

        with contextlib.redirect_stdout(io.StringIO()):  # the predictions' logs
            baseline, worst, worst_cpu, beside = asyncio.run(measure())
        tempfile.tempdir = None
    ms = 1000
    return [
        "The event loop, beside one heavy edit (16 PNG inputs of about 3 MB as JSON data "
        "URLs, ten 1536x1024 PNGs back):",
        "",
        "| | median (ms) | worst (ms) |",
        "| --- | ---: | ---: |",
        f"| light prediction alone ({len(baseline)}) | {statistics.median(baseline) * ms:.1f} | "
        f"{max(baseline) * ms:.1f} |",
        f"| light prediction beside the heavy one ({len(beside)}) | "
        f"{statistics.median(beside) * ms:.1f} | {max(beside) * ms:.1f} |",
        f"| longest hold of the event loop | | **{worst * ms:.1f}** |",
        f"| longest hold, in CPU of the loop's thread | | {worst_cpu * ms:.1f} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=1.0, help="upstream seconds")
    parser.add_argument("--rounds", type=int, default=4, help="predictions per slot")
    parser.add_argument("--overhead-count", type=int, default=300)
    parser.add_argument("--soak-seconds", type=float, default=180)
    parser.add_argument(
        "--soak-timeout",
        type=float,
        default=20,
        help="the soak server's OPENAI_TIMEOUT: a request past it is not sent again, so "
        "it must outlast the stand-in's heavy answers on a loaded machine",
    )
    parser.add_argument(
        "--slots", type=int, help="slots for the capacity table (default: cog.yaml's)"
    )
    parser.add_argument(
        "-f",
        dest="config",
        default=DEFAULT_CONFIG,
        choices=list(HEAVIEST),
        help="the build whose heaviest answer the capacity table measures",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=[
            "throughput",
            "overhead",
            "memory",
            "capacity",
            "cold-start",
            "event-loop",
            "cpu",
            "soak",
        ],
    )
    args = parser.parse_args()
    max_concurrency = int(container_env()["COG_MAX_CONCURRENCY"])

    print(
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, cog {container_env().get('COG_MAX_CONCURRENCY')} slots, "
        f"{time.strftime('%Y-%m-%d')}\n"
    )
    tables = {
        "throughput": lambda: throughput_table(args.latency, args.rounds, max_concurrency),
        "overhead": lambda: overhead_table(args.overhead_count),
        "memory": lambda: memory_table(max_concurrency, args.latency),
        "capacity": lambda: capacity_table(
            args.slots or max_concurrency, args.latency, args.config
        ),
        "cold-start": lambda: cold_start_table(5),
        "event-loop": event_loop_table,
        "cpu": lambda: cpu_table(args.rounds),
        # Not in the default run: minutes of faults. --only soak.
        "soak": lambda: run_soak(
            args.soak_seconds, max_concurrency, 10, date.today(), timeout=args.soak_timeout
        ).table(),
    }
    for name in args.only or [name for name in tables if name != "soak"]:
        print("\n".join(tables[name]()), end="\n\n", flush=True)


if __name__ == "__main__":
    main()
