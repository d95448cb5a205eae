"""Free text from a form as it is stored: what a person typed, without what they could not see.

Every name and note goes through :func:`plain` before it is checked and stored: composed to
Unicode NFC (so "Zoë" typed as e + combining diaeresis is the same name, found by the same
search; CJK compatibility ideographs, which NFC would replace by their unified twins, are kept
as typed, since a Korean name in hanja may be spelt with them), with control characters
dropped (a NUL, which PostgreSQL refuses in text, had made saving the patient fail; those that
break lines or separate words, such as Word's manual line break U+000B or NEL U+0085, become a
line break or a space first) and the explicit direction controls U+202A..U+202E and
U+2066..U+2069 dropped (invisible, they make a name display in another order than it is
stored: "\\u202eeeL anA" shows as "Ana Lee"). The right-to-left and left-to-right marks
(U+200F, U+200E) and the joiners (U+200C, U+200D), which spell some names correctly, are kept.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["DIRECTION_CONTROLS", "plain"]

# Explicit embeddings, overrides and isolates (also dropped when the PDF draws a name)
DIRECTION_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
_COMPATIBILITY_IDEOGRAPHS = re.compile("([\uf900-\ufaff\U0002f800-\U0002fa1f]+)")


def plain(text: object, *, multiline: bool = False) -> str:
    """`text` as a str in NFC with control characters and direction controls dropped.

    One line unless `multiline`: every line break and run of white space becomes one space, and
    the ends are stripped. With `multiline`, line breaks are kept as "\\n" (trailing spaces and
    blank first and last lines dropped) and tabs become spaces.
    """
    text = "" if text is None else str(text)
    text = "".join(piece if i % 2 else unicodedata.normalize("NFC", piece)
                   for i, piece in enumerate(_COMPATIBILITY_IDEOGRAPHS.split(text)))
    if multiline:
        return "\n".join(_visible(line).rstrip() for line in text.splitlines()).strip("\n")
    return " ".join(_visible(text).split())


def _visible(text: str) -> str:
    """`text` with white space as spaces and the other control characters and direction controls dropped."""
    return "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or (ch not in DIRECTION_CONTROLS and unicodedata.category(ch) != "Cc"))
