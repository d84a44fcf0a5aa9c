"""docs/modules.md (rendered from the modules' DOCUMENTATION by docs/generate.py) reads as prose."""

from __future__ import annotations

import re
from pathlib import Path

MODULES_MD = Path(__file__).resolve().parents[2] / "docs" / "modules.md"


def test_no_description_names_the_same_thing_twice_in_a_row():
    """An action and an option of the same name render alike (`wait`): "With `wait` (and `wait`)" says nothing."""
    doubled = re.findall(r"`([^`]+)`\s*\((?:and|or) `\1`\)", MODULES_MD.read_text())
    assert doubled == []
