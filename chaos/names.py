"""Names and values as a user wrote them: what a name may be, and how a value is shown in a message.

Used by every reader of input (experiment, stack.yaml, faults' parameters) and by the stack
finder, so it sits at the bottom of the house with no import of the harness's own.
"""

from __future__ import annotations

import re
from typing import Any

# Every name that becomes a path, a label or a file name (an experiment's name, a stack, a site, a
# service, a task, a tag): lowercase letters, digits, dashes and underscores, starting with a letter
# or digit, at most NAME_MAX characters (a Docker label, a DNS label and a file name all take it).
NAME_PATTERN = "[a-z0-9][a-z0-9_-]*"
NAME_MAX = 63
_SHOWN_CHARS = 60  # a longer string is shown cut, with its length


def name_problem(value: str, noun: str) -> str | None:
    """Why ``value`` is not a name (see NAME_PATTERN), or None if it is one."""
    if len(value) > NAME_MAX:
        return f"expected a {noun} of at most {NAME_MAX} characters, got {len(value)}: {describe(value)}"
    if not re.fullmatch(NAME_PATTERN, value):
        return (f"expected a {noun}: lowercase letters, digits, dashes and underscores, starting with a "
                f"letter or digit, got {describe(value)}")
    return None


def describe(value: Any) -> str:
    """A value as a user wrote it, for messages: ``'abc'``, ``12``, ``a list``, ``a boolean (true)``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        if len(value) > _SHOWN_CHARS:
            return f"{value[:_SHOWN_CHARS]!r}... ({len(value)} characters)"
        return repr(value)
    if isinstance(value, int) and abs(value) >= 10**_SHOWN_CHARS:
        return f"{str(value)[:_SHOWN_CHARS]}... (an integer of {len(str(abs(value)))} digits)"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} ({value})"
