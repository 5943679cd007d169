"""What a clone of the repository must hold by itself: its license, and documentation whose links
resolve inside the checkout (a link into a sibling folder works on one machine only)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# [text](target) and [text]: target; images too
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|^\s*\[[^\]]+\]:\s*(\S+)", re.M)
EXTERNAL = ("http://", "https://", "mailto:")


def _markdown_files() -> list[Path]:
    skip = {".git", ".venv", "node_modules", ".carehouse"}
    return sorted(p for p in ROOT.rglob("*.md") if not skip & set(p.relative_to(ROOT).parts))


def _local_links(markdown: Path) -> list[str]:
    # links inside code blocks are examples, not links
    text = re.sub(r"```.*?```", "", markdown.read_text(), flags=re.S)
    targets = [a or b for a, b in LINK.findall(text)]
    return [t for t in targets if not t.startswith(EXTERNAL) and not t.startswith("#")]


@pytest.mark.parametrize("markdown", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve_to_files_inside_the_repository(markdown: Path) -> None:
    for target in _local_links(markdown):
        path = target.split("#", 1)[0]
        assert not path.startswith("/"), f"{target}: an absolute path exists on one machine only"
        resolved = (markdown.parent / path).resolve()
        assert resolved.is_relative_to(ROOT), f"{target} points outside the repository"
        assert resolved.exists(), f"{target} does not exist"


def test_the_readme_links_somewhere() -> None:
    """Guards the link pattern itself: the README does link to a file of the repository."""
    assert _local_links(ROOT / "README.md")


def test_license_is_the_apache_2_text_pyproject_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert declared == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert re.match(r"\s*Apache License\s+Version 2\.0, January 2004", text)
    assert "END OF TERMS AND CONDITIONS" in text
    assert "9. Accepting Warranty or Additional Liability" in text
