"""Every relative link in README.md and docs/ leads somewhere: the file exists and, with a
#fragment, the page has that heading (GitHub's slug) or an explicit <a id>. The docs are long
and their headings get renamed when a figure changes; a dead link is found here, not by a reader."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^()\s]*)\)")  # [text](target): the targets the docs write
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (word characters, hyphens
    and spaces kept), spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@functools.cache  # a page's headings are read once, not once per link to it
def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    found = {slug(m.group(1)) for m in re.finditer(r"^#+ (.*)$", text, re.M)}
    return found | set(re.findall(r'<a id="([^"]+)"', text))


def test_slugs_follow_github():
    assert slug("The resampler's bursts: 51 fps at any load (fixed 2026-11-29 23:55)") == \
        "the-resamplers-bursts-51-fps-at-any-load-fixed-2026-11-29-2355"
    assert slug("The fast block (`model.fast_mels`, 32 in the shipped recipe)") == \
        "the-fast-block-modelfast_mels-32-in-the-shipped-recipe"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page):
    dead = []
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if not target or re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            dead.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            dead.append(f"{target}: no such heading in {dest.name}")
    assert not dead, dead
