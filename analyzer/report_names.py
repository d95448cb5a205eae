"""A patient's name in the PDF, as they spell it: a font for each script, right-to-left order, shaping.

A name is theirs to spell, in whatever script the clinic's records hold. Each character is
drawn in the first font that has it (:data:`SCRIPT_FONTS` for the scripts that need a font of
their own, then DejaVu Sans: Latin with every accent, Greek, Cyrillic, Hebrew, Armenian,
Georgian), Chinese, Japanese and Korean in the PDF standard CJK fonts, which the reader's viewer
supplies (not embedded). The embedded fonts live in ``analyzer/fonts`` (licences there; the
script fonts are rebuilt by ``tools/vendor_fonts.py``).

Order is the Unicode bidirectional algorithm's (python-bidi), on a left-to-right line: an
Arabic or Hebrew name reads right to left, digits in it left to right. Each run of one font and
one direction is shaped by HarfBuzz (through ReportLab), which joins Arabic letters, forms
Devanagari conjuncts and places Thai marks. A character no font has (Sinhala, Myanmar,
Ethiopic, ...) shows DejaVu's missing-glyph box: visibly not printed, never dropped unseen.

Pure layout on strings; the only state is the fonts' registration with ReportLab, done once.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import uharfbuzz
from bidi import algorithm as bidi
from bidi.mirror import MIRRORED
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import ShapedStr, TTFont, shapeStr
from reportlab.pdfgen.canvas import Canvas

from analyzer.records.text import DIRECTION_CONTROLS

__all__ = ["SCRIPT_FONTS", "Run", "draw", "fitted", "runs", "width"]

BASE_FONT = "DejaVuSans"
#: ReportLab font name -> (file in analyzer/fonts, the code points it is chosen for)
SCRIPT_FONTS = {
    "NotoSansArabic": ("NotoSansArabic-Regular.ttf",
                       ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF),
                        (0xFE70, 0xFEFF))),  # Arabic, Persian, Urdu: joined, in DejaVu only unjoined
    "NotoSansDevanagari": ("NotoSansDevanagari-Regular.ttf", ((0x0900, 0x097F), (0xA8E0, 0xA8FF))),
    "HindSiliguri": ("HindSiliguri-Regular.ttf", ((0x0980, 0x09FF),)),  # Bengali
    "NotoSansTamil": ("NotoSansTamil-Regular.ttf", ((0x0B80, 0x0BFF),)),
    "NotoSansTelugu": ("NotoSansTelugu-Regular.ttf", ((0x0C00, 0x0C7F),)),
    "NotoSansThai": ("NotoSansThai-Regular.ttf", ((0x0E00, 0x0E7F),)),
    "NotoSansKhmer": ("NotoSansKhmer-Regular.ttf", ((0x1780, 0x17FF), (0x19E0, 0x19FF))),
}
_CJK = {"ja": "HeiseiMin-W3", "ko": "HYSMyeongJo-Medium", "zh": "STSong-Light"}
_KANA = ((0x3040, 0x30FF),)
_HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF))
_HAN = ((0x2E80, 0x2FDF), (0x3000, 0x303F), (0x3100, 0x312F), (0x31A0, 0x31FF), (0x3400, 0x4DBF),
        (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF), (0x20000, 0x2FA1F))  # + punctuation, bopomofo
_JOINERS = frozenset("\u200c\u200d")
# Paired brackets (Unicode's BidiBrackets.txt, those a name may hold): opening -> closing
_BRACKETS = {"(": ")", "[": "]", "{": "}", "\uff08": "\uff09", "\uff3b": "\uff3d", "\uff5b": "\uff5d",
             "\u2045": "\u2046", "\u207d": "\u207e", "\u208d": "\u208e", "\u3008": "\u3009",
             "\u300a": "\u300b", "\u300c": "\u300d", "\u300e": "\u300f", "\u3010": "\u3011"}
_CLOSING = {close: open_ for open_, close in _BRACKETS.items()}
_LOCK = threading.Lock()  # Streamlit draws reports on several threads; register the fonts once
# ReportLab's shaping gives each glyph no character maps to (a joined form, a conjunct) a private
# code point, kept in the font it shares across threads: one shaping at a time
_SHAPING = threading.Lock()


@dataclass(frozen=True)
class Run:
    """A piece of a name in one font and one direction.

    Attributes
    ----------
    font : str
        ReportLab font name.
    text : str
        The characters in stored (logical) order; shaping turns a right-to-left run around.
    rtl : bool
        Drawn right to left (an odd bidirectional level).
    """

    font: str
    text: str
    rtl: bool = False


def _glyphs() -> dict[str, frozenset[int]]:
    """The code points each embedded font has; every name font is registered on the first call."""
    with _LOCK:
        return _register()


@functools.cache
def _register() -> dict[str, frozenset[int]]:
    folder = Path(__file__).with_name("fonts")
    files = {BASE_FONT: "DejaVuSans.ttf"} | {name: file for name, (file, _) in SCRIPT_FONTS.items()}
    glyphs = {}
    for name, file in files.items():
        font = TTFont(name, str(folder / file))
        pdfmetrics.registerFont(font)
        glyphs[name] = frozenset(font.face.charToGlyph)
    for cid in _CJK.values():
        pdfmetrics.registerFont(UnicodeCIDFont(cid))
    return glyphs


def _within(code: int, ranges) -> bool:
    return any(lo <= code <= hi for lo, hi in ranges)


def _follows(ch: str) -> bool:
    """A character drawn in the font of the one before it: a mark, a joiner, a space."""
    return unicodedata.category(ch) in ("Mn", "Me", "Cf", "Zs") or ch in _JOINERS


def _fonts(text: str) -> list[str]:
    """The font of each character of `text`."""
    glyphs = _glyphs()
    kana, hangul = (any(_within(ord(ch), ranges) for ch in text) for ranges in (_KANA, _HANGUL))
    cjk = _CJK["ja"] if kana else _CJK["ko"] if hangul else _CJK["zh"]
    fonts: list[str] = []
    for ch in text:
        code = ord(ch)
        script = next((name for name, (_, ranges) in SCRIPT_FONTS.items() if _within(code, ranges)), None)
        if script is not None:
            font = script
        elif fonts and _follows(ch) and code in glyphs.get(fonts[-1], frozenset()):
            font = fonts[-1]
        elif code not in glyphs[BASE_FONT] and _within(code, _KANA + _HANGUL + _HAN):
            font = cjk
        else:
            font = BASE_FONT  # has it, or shows its missing-glyph box
        fonts.append(font)
    return fonts


def _levels(text: str) -> list[int]:
    """Each character's resolved bidirectional level on a left-to-right line (even: left to right)."""
    storage = bidi.get_empty_storage()
    storage["base_level"], storage["base_dir"] = 0, "L"
    bidi.get_embedding_levels(text, storage)
    for ch in storage["chars"]:
        if not ch["type"]:  # a code point Unicode has not assigned: neutral
            ch["type"] = ch["orig"] = "ON"
    bidi.explicit_embed_and_overrides(storage, False)
    bidi.resolve_weak_types(storage, False)
    bidi.resolve_neutral_types(storage, False)
    bidi.resolve_implicit_levels(storage, False)
    kept = iter(ch["level"] for ch in storage["chars"])
    levels: list[int] = []
    for ch in text:  # what rule X9 set aside (joiners, among others) takes its neighbour's level
        removed = unicodedata.bidirectional(ch) in bidi.X9_REMOVED
        levels.append((levels[-1] if levels else 0) if removed else next(kept))
    _pair_brackets(text, levels)
    return levels


def _strong(ch: str, *, digits: bool = True) -> str | None:
    """The direction, L or R, of a character of strong direction; digits count as R with `digits`
    (inside brackets, rule N0), and not at all without (before them, where a digit after Latin
    has become Latin by rule W7)."""
    kind = unicodedata.bidirectional(ch)
    return "L" if kind == "L" else "R" if kind in ("R", "AL") or digits and kind in ("EN", "AN") else None


def _pair_brackets(text: str, levels: list[int]) -> None:
    """Rule N0, which python-bidi's stages lack: a bracket pair takes the direction of the strong
    text inside it, or of the text before it when all inside runs against the line ("דוד (כהן)"
    is right to left brackets and all; "Sara (שרה)" keeps its brackets left to right).
    On a left-to-right line with no explicit embeddings; sets `levels` in place."""
    stack: list[tuple[int, str]] = []
    pairs = []
    for i, ch in enumerate(text):
        if ch in _BRACKETS and len(stack) < 63:
            stack.append((i, _BRACKETS[ch]))
        elif ch in _CLOSING:
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][1] == ch:
                    pairs.append((stack[depth][0], i))
                    del stack[depth:]
                    break
    for start, end in sorted(pairs):
        inside = {_strong(ch) for ch in text[start + 1:end]} - {None}
        if not inside or "L" in inside:
            direction = "L" if inside else None
        else:  # only right-to-left inside: right to left if the text before it is too
            before = next((d for ch in reversed(text[:start]) if (d := _strong(ch, digits=False))), "L")
            direction = "R" if before == "R" else "L"
        if direction is not None:
            levels[start] = levels[end] = 1 if direction == "R" else 0


def runs(text: str) -> list[Run]:
    """`text` as runs of one font and one direction, in the order they are drawn, left to right.

    Control characters, lone surrogates and explicit direction controls are dropped: invisible, the
    controls would make the name display in another order than it is stored (the bidirectional
    algorithm orders the rest).
    """
    text = "".join(ch for ch in text
                   if ch not in DIRECTION_CONTROLS and unicodedata.category(ch) not in ("Cc", "Cs"))
    if not text:
        return []
    logical: list[tuple[int, Run]] = []
    for ch, font, level in zip(text, _fonts(text), _levels(text), strict=True):
        if logical and logical[-1][0] == level and logical[-1][1].font == font:
            logical[-1] = (level, Run(font, logical[-1][1].text + ch, level % 2 == 1))
        else:
            logical.append((level, Run(font, ch, level % 2 == 1)))
    # rule L2: from the highest level down to 1, reverse every stretch of runs at that level or above
    ordered = logical
    for floor in range(max(level for level, _ in logical), 0, -1):
        out, stretch = [], []
        for item in ordered + [(-1, None)]:
            if item[0] >= floor:
                stretch.append(item)
                continue
            out.extend(reversed(stretch))
            stretch = []
            if item[1] is not None:
                out.append(item)
        ordered = out
    return [run for _, run in ordered]


def _shaped(run: Run, size: float) -> tuple[str, float]:
    """What to draw for `run` at `size` points (shaped, for an embedded font) and its width in points."""
    if run.font in _CJK.values():
        return run.text, stringWidth(run.text, run.font, size)
    with _SHAPING:
        shaped = shapeStr(_for_harfbuzz(run), run.font, size)
    if isinstance(shaped, ShapedStr):
        return shaped, sum(glyph.x_advance for glyph in shaped.__shapeData__) * size / 1000
    return shaped, stringWidth(shaped, run.font, size)


def _for_harfbuzz(run: Run) -> str:
    """`run`'s text as HarfBuzz must be given it to draw the run in its direction.

    ReportLab lets HarfBuzz guess a run's direction from its script: Arabic-Indic digits (at a
    left-to-right level, "١٢٣") would be turned around, and brackets or a hyphen alone at a
    right-to-left level would be drawn unturned and unmirrored. Such a run is handed over
    reversed (and mirrored, for right to left); it holds no letters that join, so nothing else
    changes.
    """
    buf = uharfbuzz.Buffer()
    buf.add_str(run.text)
    buf.guess_segment_properties()
    if (buf.direction == "rtl") == run.rtl:
        return run.text
    turned = run.text[::-1]
    return "".join(MIRRORED.get(ch, ch) for ch in turned) if run.rtl else turned


def width(text: str, size: float) -> float:
    """Width of `text` drawn by :func:`draw` at `size` points, in points."""
    return sum(_shaped(run, size)[1] for run in runs(text))


def draw(c: Canvas, x: float, y: float, text: str, size: float) -> float:
    """Draw `text` with its left end at (x, y) points; returns where it ends (points)."""
    for run in runs(text):
        shaped, advance = _shaped(run, size)
        c.setFont(run.font, size)
        c.drawString(x, y, shaped)
        x += advance
    return x


_REGIONAL = 0x1F1E6  # regional indicator A: flags are pairs of the 26


def _joined_to_previous(text: str, k: int) -> bool:
    """Whether text[k] belongs to the character before it: a mark, a conjunct's consonant after a
    virama or a joiner, an emoji's skin tone, a flag's second letter, a Hangul vowel or final."""
    ch, before = text[k], text[k - 1]
    if unicodedata.category(ch).startswith("M") or before in _JOINERS or unicodedata.combining(before) == 9:
        return True  # 9: a virama
    code = ord(ch)
    if 0x1F3FB <= code <= 0x1F3FF or 0x1160 <= code <= 0x11FF or 0xD7B0 <= code <= 0xD7FF:
        return True
    if _REGIONAL <= code <= _REGIONAL + 25:  # flags are pairs of regional indicators
        run = 0
        while k - run - 1 >= 0 and _REGIONAL <= ord(text[k - run - 1]) <= _REGIONAL + 25:
            run += 1
        return run % 2 == 1
    return False


def _clusters_end(text: str, k: int) -> int:
    """The largest cut at or before `k` that splits no character from what belongs to it."""
    while 0 < k < len(text) and _joined_to_previous(text, k):
        k -= 1
    return k


def fitted(text: str, room: float, size: float) -> str:
    """`text`, shortened at its end with an ellipsis to fit `room` points at `size` points.

    The ellipsis stands where the name was cut: after a right-to-left end it is followed by a
    right-to-left mark, so it is drawn at that end's left."""
    if width(text, size) <= room:
        return text
    k = len(text)
    while k > 0:
        k = _clusters_end(text, k - 1)
        if width(_ellipsis(text[:k]), size) <= room:
            break
    return _ellipsis(text[:k])


def _ellipsis(kept: str) -> str:
    kept = kept.rstrip()
    last = next((unicodedata.bidirectional(ch) for ch in reversed(kept)
                 if unicodedata.bidirectional(ch) in ("L", "R", "AL")), "L")
    return kept + ("…\u200f" if last in ("R", "AL") else "…")
