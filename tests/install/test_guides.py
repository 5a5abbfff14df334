"""docs/installing.md and docs/production.md keep to the install test's convention
(tests/install/docsteps.py): every code block says how the test follows it, and the Python
blocks compile. A quick check; test_wagtail_start.py does what the blocks say."""

from __future__ import annotations

from pathlib import Path

import pytest
from docsteps import GuideError, parse_guide

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("name", ["installing.md", "production.md"])
def test_every_block_of_the_guide_is_followed(name):
    steps = parse_guide(DOCS / name)
    assert steps
    for step in steps:
        if step.lang == "python":
            compile(step.code, step.label(), "exec")
    assert any(step.verb == "run" for step in steps)


def test_a_block_without_a_directive_is_refused(tmp_path):
    guide = tmp_path / "guide.md"
    guide.write_text("# Guide\n\n```sh\npip install something\n```\n", encoding="utf-8")
    with pytest.raises(GuideError, match="without an <!-- install-test"):
        parse_guide(guide)


def test_a_skip_needs_a_reason(tmp_path):
    guide = tmp_path / "guide.md"
    guide.write_text("<!-- install-test: skip -->\n```sh\nls\n```\n", encoding="utf-8")
    with pytest.raises(GuideError, match="needs a reason"):
        parse_guide(guide)
