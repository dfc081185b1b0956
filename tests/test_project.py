"""The project's own checks: lint and format clean, and CI runs the README's command."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cog_schema import PROJECT_DIR

RUFF = [sys.executable, "-m", "ruff"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff_is_clean(command: list[str]) -> None:
    result = subprocess.run(
        [*RUFF, *command, "."], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_the_readme_test_command() -> None:
    ci_command = (PROJECT_DIR / ".ci" / "run").read_text().strip().splitlines()[-1]
    readme = (PROJECT_DIR / "README.md").read_text()
    assert f"\n{ci_command}\n" in readme


def test_dockerignore_keeps_the_image_to_what_it_runs() -> None:
    lines = Path(PROJECT_DIR / ".dockerignore").read_text().splitlines()
    ignored = {line for line in lines if line and not line.startswith("#")}
    assert {".git", ".venv", "tests", "**/__pycache__", ".pytest_cache", "outputs"} <= ignored
    assert not {"predict.py", "gpt_image", "cog.yaml", "requirements.txt", ".cog"} & ignored
