"""Free text from a form as it is stored: what a person typed, without what they could not see.

Every name and note goes through :func:`plain` before it is checked and stored: composed to
Unicode NFC (so "Zoë" typed as e + combining diaeresis is the same name, found by the same
search), with control characters dropped (a NUL, which PostgreSQL refuses in text, had made
saving the patient fail) and the explicit direction controls U+202A..U+202E and U+2066..U+2069
dropped (invisible, they make a name display in another order than it is stored: "\\u202eeeL anA"
shows as "Ana Lee"). The right-to-left and left-to-right marks (U+200F, U+200E) and the
joiners (U+200C, U+200D), which spell some names correctly, are kept.
"""

from __future__ import annotations

import unicodedata

__all__ = ["plain"]

_DIRECTION_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))


def plain(text: object, *, multiline: bool = False) -> str:
    """`text` as a str in NFC with control characters and direction controls dropped.

    One line unless `multiline`: runs of white space become one space, and the ends are
    stripped. With `multiline`, line breaks are kept (trailing spaces and blank first and
    last lines dropped) and tabs become spaces.
    """
    text = unicodedata.normalize("NFC", "" if text is None else str(text))
    if multiline:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").split("\n")
        return "\n".join(_visible(line).rstrip() for line in lines).strip("\n")
    return " ".join(_visible(text.replace("\t", " ").replace("\n", " ")).split())


def _visible(text: str) -> str:
    return "".join(ch for ch in text if ch not in _DIRECTION_CONTROLS and unicodedata.category(ch) != "Cc")
