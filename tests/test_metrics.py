"""The pure pieces of the container's own metrics and its drain: counting a prediction
and its outcome, and what the preStop hook makes of the worker's port. The served
side runs against the real server in test_fleet.py."""

import asyncio

import pytest

from gpt_image import drain
from gpt_image.errors import PredictionError
from gpt_image.metrics import Metrics, cog_status
from tools.cog_server import free_port


def count(metrics: Metrics, outcome: str) -> float | None:
    return metrics.registry.get_sample_value("gpt_image_predictions_total", {"outcome": outcome})


def in_flight(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value("gpt_image_predictions_in_flight")


def test_a_prediction_is_in_flight_until_it_ends_and_counted_by_outcome() -> None:
    metrics = Metrics()
    assert metrics.idle_for() is not None
    with metrics.prediction():
        assert in_flight(metrics) == 1
        assert metrics.idle_for() is None
    with pytest.raises(PredictionError), metrics.prediction():
        raise PredictionError("OpenAI refused it.")
    with pytest.raises(asyncio.CancelledError), metrics.prediction():
        raise asyncio.CancelledError
    assert in_flight(metrics) == 0
    assert [count(metrics, o) for o in ("succeeded", "failed", "canceled")] == [1, 1, 1]
    idle = metrics.idle_for()
    assert idle is not None and 0 <= idle < 5


def test_every_outcome_is_served_from_the_start() -> None:
    """A counter Prometheus never saw cannot be rated: each outcome starts at 0."""
    samples = {
        (sample.name, sample.labels.get("outcome"))
        for family in Metrics().registry.collect()
        for sample in family.samples
    }
    for outcome in ("succeeded", "failed", "canceled"):
        assert ("gpt_image_predictions_total", outcome) in samples


def test_a_closed_port_means_coglet_is_draining_and_the_worker_is_gone() -> None:
    port = free_port()
    assert cog_status(port) == "DRAINING"
    assert drain.is_idle(port)  # no worker listening: nothing of this pod in flight


def test_the_hook_without_metrics_returns_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("METRICS_PORT", raising=False)
    assert drain.main() == 0
    assert "METRICS_PORT is not set" in capsys.readouterr().out
