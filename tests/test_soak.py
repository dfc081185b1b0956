"""A short soak through the real prediction server: every prediction ends as it
should under every upstream fault, and nothing is left behind (the full run is
`python -m tools.benchmark --only soak`)."""

from tests.conftest import TODAY
from tools.soak import EXPECTED, MIB, run_soak


def test_short_soak_ends_every_prediction_as_it_should() -> None:
    # A request past the timeout is not sent again: 5 s leaves a loaded machine room.
    report = run_soak(seconds=15, concurrency=6, images=3, today=TODAY, timeout=5)
    print("\n".join(report.table()))
    assert report.wrong == 0, report.outcomes
    assert {kind for kind, _ in report.outcomes} == set(EXPECTED)  # every fault happened
    assert report.server_5xx == 0
    assert report.key_in_logs == 0
    assert report.partial_files == 0
    assert report.output_dirs == report.succeeded  # failed and cancelled leave none
    assert report.worker_after < report.worker_idle + 64 * MIB  # back to about idle
