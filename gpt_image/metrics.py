"""The container's own count of its work, served to Prometheus, and the probes and
drain that rest on it.

coglet 0.23.1 exports no count of busy slots, and an asynchronous prediction is an
HTTP request that ended at once (202): only the predictor sees every prediction from
start to end. With METRICS_PORT set, the worker serves on that port:

    /metrics  the counters below, in Prometheus' text format (prometheus_client)
    /ready    200 while coglet takes predictions (READY, or BUSY: a caller then gets
              coglet's 409 and retries), 503 otherwise
    /live     503 only while coglet reports the worker broken (UNHEALTHY, DEFUNCT,
              SETUP_FAILED); 200 while it drains (its port closed after SIGTERM)
    /idle     200 once nothing is in flight and coglet has had time to deliver the
              last prediction's outputs and final webhook; 503 until then

Unset, nothing is served and nothing else changes.
"""

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from gpt_image.settings import setting

METRICS_PORT = "METRICS_PORT"
# After predict() returns, coglet uploads the outputs (--upload-url: at most 25 s
# each, all at once) and then sends the final webhook (crates/coglet/src/
# orchestrator.rs upload_file, webhook.rs send_terminal): the drain waits this long
# after the last prediction ended before it calls the container idle.
DELIVERY_SECONDS = "DELIVERY_SECONDS"
DEFAULT_DELIVERY_SECONDS = 30.0
# The coglet statuses (crates/coglet/src/health.rs) that mean the worker is broken;
# and a coglet that does not answer at all. coglet gives the worker 10 s to answer
# its own health check before it says UNHEALTHY (orchestrator.rs): wait longer.
BROKEN = {"UNHEALTHY", "DEFUNCT", "SETUP_FAILED", "NO ANSWER"}
HEALTH_CHECK_SECONDS = 12
TAKING_PREDICTIONS = {"READY", "BUSY"}
# A prediction waits on OpenAI for seconds to minutes (PREDICTION_TIMEOUT at most).
SECONDS_BUCKETS = (1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], list[bytes]]


class Metrics:
    """What the worker counts. One instance per worker, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.in_flight = Gauge(
            "gpt_image_predictions_in_flight",
            "Predictions the worker is running now, synchronous and asynchronous.",
            registry=self.registry,
        )
        self.predictions = Counter(
            "gpt_image_predictions",
            "Predictions ended, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "gpt_image_openai_request_duration_seconds",
            "Time from sending a prediction's request to OpenAI to its whole answer, "
            "every attempt and wait included.",
            buckets=SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.retries = Counter(
            "gpt_image_openai_retries",
            "Requests to OpenAI sent again (by the openai SDK, or after an answer broke off).",
            registry=self.registry,
        )
        self.images = Counter(
            "gpt_image_images", "Images returned to callers.", registry=self.registry
        )
        self.tokens = Counter(
            "gpt_image_openai_tokens",
            "Tokens OpenAI reported, by direction.",
            ["direction"],
            registry=self.registry,
        )
        self.cost = Counter(
            "gpt_image_openai_estimated_cost_dollars",
            "Estimated cost on the callers' OpenAI accounts, in US dollars, from the "
            "reported tokens and the model's published prices.",
            registry=self.registry,
        )
        for outcome in ("succeeded", "failed", "canceled"):
            self.predictions.labels(outcome)
        for direction in ("input", "output"):
            self.tokens.labels(direction)
        self._last_end = 0.0  # time.monotonic() when the last prediction ended

    @contextmanager
    def prediction(self) -> Iterator[None]:
        """Counts one prediction while it runs, and its outcome when it ends."""
        self.in_flight.inc()
        outcome = "failed"
        try:
            yield
            outcome = "succeeded"
        except asyncio.CancelledError:  # how coglet cancels an async prediction
            outcome = "canceled"
            raise
        finally:
            self.predictions.labels(outcome).inc()
            self._last_end = time.monotonic()
            self.in_flight.dec()

    def idle_for(self) -> float | None:
        """Seconds since the last prediction ended, or None while one runs."""
        if self.registry.get_sample_value("gpt_image_predictions_in_flight"):
            return None
        return time.monotonic() - self._last_end

    def count_answer(self, billed: dict[str, int], cost: float | None) -> None:
        """What an answer brought: Replicate's billing metrics (usage_metrics) and the
        cost estimate, None when it cannot be made."""
        self.images.inc(billed["image_output_count"])
        for direction in ("input", "output"):
            self.tokens.labels(direction).inc(billed.get(f"token_{direction}_count", 0))
        if cost is not None:
            self.cost.inc(cost)


def serve_metrics(metrics: Metrics, cog_port: int) -> None:
    """Serve /metrics, /ready, /live and /idle on METRICS_PORT, if it is set."""
    port = setting(METRICS_PORT, 0, int, lambda p: 0 < p < 65536, "a TCP port number")
    if not port:
        return
    delivery = setting(
        DELIVERY_SECONDS, DEFAULT_DELIVERY_SECONDS, float, lambda s: s >= 0, "seconds (0 or more)"
    )
    app = _app(metrics, cog_port, delivery)
    try:
        server = make_server("", port, app, _ThreadingServer, handler_class=_QuietHandler)
    except OSError as error:
        print(f"Metrics are off: port {port} (METRICS_PORT) could not be opened ({error}).")
        return
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()


def _app(metrics: Metrics, cog_port: int, delivery: float) -> WSGIApp:
    prometheus = make_wsgi_app(metrics.registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/ready":
            status = cog_status(cog_port)
            return _answer(start_response, status in TAKING_PREDICTIONS, status)
        if path == "/live":
            status = cog_status(cog_port)
            return _answer(start_response, status not in BROKEN, status)
        if path == "/idle":
            idle = metrics.idle_for()
            done = idle is not None and idle >= delivery
            return _answer(start_response, done, "idle" if done else "busy")
        return prometheus(environ, start_response)

    return app


def cog_status(cog_port: int) -> str:
    """coglet's own status (READY, BUSY, ...), DRAINING once its port is closed, or
    NO ANSWER."""
    url = f"http://127.0.0.1:{cog_port}/health-check"
    try:
        with urllib.request.urlopen(url, timeout=HEALTH_CHECK_SECONDS) as response:
            return str(json.load(response)["status"])
    except urllib.error.URLError as error:
        if isinstance(error.reason, ConnectionRefusedError):
            return "DRAINING"
        return "NO ANSWER"
    except (OSError, ValueError, KeyError):
        return "NO ANSWER"


def _answer(start_response: Callable[..., Any], ok: bool, word: str) -> list[bytes]:
    start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
    return [f"{word}\n".encode()]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread a request, so a slow health check never holds a scrape."""

    daemon_threads = True
    address_family = socket.AF_INET


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds would flood the prediction logs."""
