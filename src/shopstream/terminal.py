"""Terminal output where what users sent is data, never markup or control sequences.

Store names, product names, message keys and reasons come from tills and Kafka. Given to
rich as a string, ``[/b]`` would crash it (MarkupError) and ``[link=...]`` plant a
hyperlink; written raw, an escape character lets the text drive the terminal itself.
``shown`` makes such a string inert; the consoles interpret no markup or emoji codes at
all, and never hard-wrap, so an error is one line whatever the terminal's width.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.text import Text

# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what is shown.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(value: str, style: str = "") -> Text:
    """``value`` as literal text: control characters written as ``\\x1b``, no markup."""
    return Text(_CONTROL.sub(_visible, value), style=style)


def console(stderr: bool = False) -> Console:
    """A console that prints strings as they are: no markup, no ``:emoji:`` codes, no wrap."""
    return Console(stderr=stderr, markup=False, emoji=False, soft_wrap=True)
