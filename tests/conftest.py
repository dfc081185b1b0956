"""Shared fixtures: the stand-in OpenAI server and the real prediction server; and
the proof that the suite leaves the temp directory as it found it."""

import base64
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from tools.cog_schema import GPT_IMAGE_2_5_CONFIGS, GPT_IMAGE_2_CONFIG
from tools.cog_server import CogServer
from tools.openai_standin import StandIn

# A key the stand-in accepts, as OpenAI accepts a real one.
API_KEY = "sk-test-0123456789abcdefXYZ"

# The stand-in's today, fixed so no test changes outcome with the calendar: after
# gpt-image-1's shutdown (2026-10-23), before gpt-image-1.5's (2026-12-01).
TODAY = date(2026, 11, 25)


def pytest_configure(config: pytest.Config) -> None:
    """Run the whole suite, and every server it starts, in a temp directory of its
    own, so what a test leaves behind can be seen (and the machine's is untouched)."""
    private = Path(tempfile.mkdtemp(prefix="gpt-image-tests-"))
    config.stash[PRIVATE_TMP] = private
    os.environ["TMPDIR"] = str(private)
    tempfile.tempdir = None  # re-read TMPDIR
    if config.option.basetemp is None:
        config.option.basetemp = str(private / "pytest")  # tmp_path: pytest's own


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if anything but pytest's own tmp_path directories is left."""
    private = session.config.stash[PRIVATE_TMP]
    left = sorted(path.name for path in private.iterdir() if path.name != "pytest")
    shutil.rmtree(private, ignore_errors=True)
    if left:
        print(f"\nThe tests left these in the temp directory: {', '.join(left)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


PRIVATE_TMP = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def standin() -> Iterator[StandIn]:
    server = StandIn(today=TODAY)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def openai(standin: StandIn) -> StandIn:
    """The stand-in, with no requests recorded and no failures scripted."""
    standin.reset()
    return standin


@pytest.fixture(scope="session")
def server(standin: StandIn) -> Iterator[CogServer]:
    """The prediction server as the container runs it, pointed at the stand-in."""
    cog = CogServer(env={"OPENAI_BASE_URL": standin.base_url}).start()
    yield cog
    cog.stop()
    assert API_KEY not in cog.logs()  # whatever ran, the key never reached a log


@pytest.fixture(scope="session")
def gpt_image_2_server(standin: StandIn) -> Iterator[CogServer]:
    """The gpt-image-2 build's server, pointed at the stand-in, with no key of its own
    (whatever the shell running the tests has in OPENAI_API_KEY)."""
    env = {"OPENAI_BASE_URL": standin.base_url, "OPENAI_API_KEY": ""}
    cog = CogServer(env=env, config=GPT_IMAGE_2_CONFIG).start()
    yield cog
    cog.stop()
    assert API_KEY not in cog.logs()


@pytest.fixture(scope="session", params=GPT_IMAGE_2_5_CONFIGS)
def gpt_image_2_5_server(standin: StandIn, request: pytest.FixtureRequest) -> Iterator[CogServer]:
    """Each GPT Image 2.5 build's server in turn, as gpt_image_2_server is set up."""
    env = {"OPENAI_BASE_URL": standin.base_url, "OPENAI_API_KEY": ""}
    cog = CogServer(env=env, config=request.param).start()
    yield cog
    cog.stop()
    assert API_KEY not in cog.logs()


def wait_for(condition: Callable[[], object], what: str = "it", seconds: float = 60) -> None:
    """Wait for something that must happen; only a generous deadline ends the wait."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def decode_data_uri(uri: str) -> tuple[str, bytes]:
    """(MIME type, bytes) of a data URI output."""
    header, _, payload = uri.partition(",")
    assert header.startswith("data:") and header.endswith(";base64"), header
    return header[5:-7], base64.b64decode(payload)
