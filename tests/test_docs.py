"""The README and docs/: every relative link leads to a file, and to a heading in it."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.cog_schema import PROJECT_DIR

PAGES = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]
# [text](target), outside code; a target with a scheme is not this repository's.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def prose(page: Path) -> str:
    return CODE_SPAN.sub("", FENCE.sub("", page.read_text()))


def anchors(page: Path) -> Iterator[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped,
    spaces as hyphens, and -1, -2, ... after a repeat."""
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#+ (.+)$", FENCE.sub("", page.read_text()), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        yield slug if seen[slug] == 0 else f"{slug}-{seen[slug]}"


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page)) if ":" not in target]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_resolves(page: Path) -> None:
    links = relative_links(page)
    for target in links:
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        assert destination.exists(), f"{page.name}: {target} leads nowhere"
        assert destination.is_relative_to(PROJECT_DIR), f"{page.name}: {target} leaves the repo"
        if anchor:
            assert anchor in set(anchors(destination)), f"{page.name}: no heading for {target}"


def test_the_readme_leads_to_every_doc() -> None:
    linked = {
        (PROJECT_DIR / target.partition("#")[0]).resolve() for target in relative_links(PAGES[0])
    }
    assert set(PAGES[1:]) <= linked
