"""A patient's name in the PDF as they spell it: every script's glyphs, right-to-left order, shaping.

Drawn by :mod:`analyzer.report_names` and read back from the PDF by PDFium (pypdfium2), as a
PDF viewer would: its pixels, and where it put each character.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
import uharfbuzz as hb
from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.pdfgen.canvas import Canvas
from skimage.measure import label

from analyzer import report_names
from analyzer.report_names import BASE_FONT, SCRIPT_FONTS, Run, draw, fitted, runs, width

FONTS = Path(report_names.__file__).with_name("fonts")
ZWNJ = "\u200c"  # zero-width non-joiner: letters drawn apart, a virama shown instead of a conjunct
# Names as clinics write them, one or two per script the PDF prints
NAMES = {
    "Arabic": "فاطمة الزهراء", "Persian": "پریسا رضایی", "Urdu": "عائشہ خان", "Hebrew": "שרה כהן",
    "Hindi": "प्रिया क्षत्रिय", "Marathi": "श्रुती देशपांडे", "Bengali": "অমিত চক্রবর্তী",
    "Tamil": "தமிழ்செல்வி", "Telugu": "శ్రీనివాస్ రెడ్డి", "Thai": "สมศรี ใจดี", "Khmer": "សុខ ចាន់ដារ៉ា",
    "Latin": "Zoë Łukasiewicz-Øberg", "Greek": "Ελένη Παππά", "Cyrillic": "Иван Петров",
    "Armenian": "Անի Սարգսյան", "Georgian": "ნინო ბერიძე",
}


def _pdf(text: str, size: float = 14) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(400, 40), invariant=True)
    draw(c, 10, 14, text, size)
    c.save()
    return buf.getvalue()


def _ink(text: str) -> np.ndarray:
    """`text` drawn by report_names and rendered by PDFium: (H, W) bool, True where it is dark."""
    page = pdfium.PdfDocument(_pdf(text))[0]
    return np.asarray(page.render(scale=4).to_pil().convert("L")) < 128


def _extent(ink: np.ndarray) -> int:
    columns = np.flatnonzero(ink.any(axis=0))
    return int(columns[-1] - columns[0] + 1)


def _boxes(text: str) -> list[tuple[str, float]]:
    """Each character PDFium finds on the page, with the left edge of its box (points)."""
    page = pdfium.PdfDocument(_pdf(text))[0].get_textpage()
    return [(page.get_text_range(i, 1), page.get_charbox(i)[0]) for i in range(page.count_chars())]


def _hb_font(font: str) -> hb.Font:
    file = "DejaVuSans.ttf" if font == BASE_FONT else SCRIPT_FONTS[font][0]
    return hb.Font(hb.Face(hb.Blob.from_file_path(str(FONTS / file))))


@pytest.mark.parametrize("script", NAMES)
def test_every_letter_of_a_name_has_a_glyph_in_the_font_it_is_drawn_in(script):
    name = NAMES[script]
    for run in runs(name):
        buf = hb.Buffer()
        buf.add_str(run.text)
        buf.guess_segment_properties()
        hb.shape(_hb_font(run.font), buf)
        assert all(info.codepoint != 0 for info in buf.glyph_infos), (script, run)  # 0: the missing glyph
    assert "".join(sorted("".join(run.text for run in runs(name)))) == "".join(sorted(name))


def test_a_script_no_font_has_shows_the_missing_glyph_box_and_is_not_sent_to_the_cjk_fonts():
    assert runs("ශ්‍රියා Perera") == [Run(BASE_FONT, "ශ්‍රියා Perera")]  # Sinhala: boxes, not dropped
    assert runs("Ana 王") == [Run(BASE_FONT, "Ana "), Run("STSong-Light", "王")]
    korean = "HYSMyeongJo-Medium"
    assert runs("김 王") == [Run(korean, "김"), Run(BASE_FONT, " "), Run(korean, "王")]
    assert runs("山田 はなこ")[0].font == "HeiseiMin-W3"  # kana: the name is Japanese


def test_a_hebrew_name_reads_right_to_left_and_a_latin_one_beside_it_left_to_right():
    boxes = dict(_boxes("Sara שרה"))  # each letter once
    assert boxes["S"] < boxes["a"] < boxes["ש"]  # Latin first, on the left
    assert boxes["ש"] > boxes["ר"] > boxes["ה"]  # the first letter of the Hebrew word is its rightmost


def test_digits_in_an_arabic_name_keep_their_order_and_the_name_its_direction():
    boxes = _boxes("محمد 25")
    x = {ch: left for ch, left in boxes if ch in "25"}
    arabic = [left for ch, left in boxes if unicodedata.bidirectional(ch) == "AL"]
    assert x["2"] < x["5"] < min(arabic)  # "25" at the left end, read left to right
    assert runs("محمد 25") == [Run(BASE_FONT, "25"), Run("NotoSansArabic", "محمد ", rtl=True)]


def test_brackets_in_a_right_to_left_name_enclose_what_they_enclose():
    boxes = _boxes("דוד (כהן)")  # David (Cohen): the brackets hold Cohen, left of David as it reads
    x = {ch: left for ch, left in boxes}
    cohen, david = [x[ch] for ch in "כהן"], [left for ch, left in boxes if ch in "דו"]
    brackets = sorted(left for ch, left in boxes if ch in "()")
    assert brackets[0] < min(cohen) and max(cohen) < brackets[1] < min(david)
    # beside Latin, left to right: "Sara (הרש)"
    assert runs("Sara (שרה)") == [Run(BASE_FONT, "Sara ("), Run(BASE_FONT, "שרה", True), Run(BASE_FONT, ")")]


def test_arabic_indic_digits_keep_their_order():
    for digits in ("١٢٣", "۱۲۳"):  # Arabic-Indic, and Persian (drawn with the same glyphs)
        boxes = _boxes("محمد " + digits)
        ones, twos, threes = ([left for ch, left in boxes if ch in pair] for pair in ("١۱", "٢۲", "٣۳"))
        assert ones[0] < twos[0] < threes[0], (digits, boxes)


def test_a_right_to_left_name_cut_short_ends_with_the_ellipsis_where_it_was_cut():
    cut = fitted("فاطمة الزهراء بنت محمد بن عبد الله", 80, 10)
    boxes = _boxes(cut)
    dots = [left for ch, left in boxes if ch == "…"]
    assert len(dots) == 1 and dots[0] < min(left for ch, left in boxes if ch not in "…\u200f ")


def test_arabic_letters_are_joined():
    # Muhammad: four letters with no dots, each joined to the next (as written), or set apart
    assert label(_ink("محمد")).max() == 1
    assert label(_ink(ZWNJ.join("محمد"))).max() == 4


def test_devanagari_forms_its_conjuncts():
    conjunct, spelt_out = _ink("क्ष"), _ink("क्" + ZWNJ + "ष")  # ksha, and k + virama + sha
    assert _extent(conjunct) < 0.9 * _extent(spelt_out)  # measured: 0.50
    assert (conjunct != _ink("कष")).any()  # not two bare letters either


def test_a_thai_tone_mark_sits_above_the_vowel_it_stacks_on():
    def rows(ink):
        dark = np.flatnonzero(ink.any(axis=1))
        return dark[0], dark[-1]

    stacked, bare = rows(_ink("น้ำ")), rows(_ink("นำ"))  # with and without mai tho over sara am
    # the mark above the vowel's circle: measured 12 px higher (at 4 px a point), 3 when overprinted
    assert stacked[0] < bare[0] - 8


def test_direction_controls_in_a_stored_name_cannot_turn_it_around():
    # U+202E (right-to-left override) would display "Ana Lee" as "eeL anA"; it is dropped
    assert runs("\u202eAna Lee\u202c") == [Run(BASE_FONT, "Ana Lee")]
    assert runs("\u2067שרה\u2069 Cohen")[0] == Run(BASE_FONT, "שרה", rtl=True)


# skin tones, flags, and a Hangul syllable spelt in conjoining jamo
@pytest.mark.parametrize("name", ["👍🏽👍🏽👍🏽👍🏽", "🇫🇷🇩🇪🇫🇷🇩🇪", "\u1112\u1161\u11ab" * 4])
def test_a_long_name_keeps_what_belongs_together(name):
    for room in range(5, 60, 3):
        kept = fitted(name, room, 10).removesuffix("…")
        assert name.startswith(kept) and len(kept) % (3 if name[0] == "\u1112" else 2) == 0, (room, kept)


def test_a_long_name_is_cut_between_letters_not_inside_a_conjunct_or_before_a_mark():
    name = "प्रिया क्षत्रिय " * 6 + "สมศรี น้ำ"
    for room in range(40, 260, 7):
        cut = fitted(name, room, 10)
        kept = cut.removesuffix("…").rstrip()
        assert width(cut, 10) <= room or kept == ""
        assert name.startswith(kept)
        rest = name[len(kept):]
        if kept and rest.strip():
            assert not unicodedata.category(rest[0]).startswith("M"), (room, kept)
            assert unicodedata.combining(kept[-1]) != 9, (room, kept)  # no dangling virama


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_stored_name_is_drawn_with_nothing_lost_and_no_error(text):
    shown = "".join(run.text for run in runs(text))
    kept = [ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cs")
            and not (0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069)]
    assert sorted(shown) == sorted(kept)
    assert width(text, 10) >= 0
    _pdf(text.encode("utf-8", "replace").decode("utf-8", "replace"))


def test_the_report_prints_a_name_in_its_script():
    from test_report import T0, _point

    from analyzer.records import PatientRecord, Timeline
    from analyzer.report import patient_report

    timeline = Timeline(1, "front", 100, (_point(0, T0, 1.0, {"redness.erythema_index": 12.5}),))
    pages = {}
    for name in ("สมศรี ใจดี", "Ana Lee"):
        patient = PatientRecord(1, name, None, 1980, 3, "", True, dt.date(2026, 3, 2), T0)
        pdf = patient_report(patient, timeline, np.full((40, 30, 3), 180, np.uint8), None, [],
                             version="1.0", today=dt.date(2026, 6, 1))
        pages[name] = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert "สมศรี ใจดี · visits" in pages["สมศรี ใจดี"]  # drawn in Thai glyphs, whose text reads back
    assert "Ana Lee · visits" in pages["Ana Lee"]
