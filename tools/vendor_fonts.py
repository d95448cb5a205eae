"""Rebuild the script fonts for names in the patient PDF: ``python tools/vendor_fonts.py``.

DejaVu Sans prints Latin, Greek, Cyrillic and Hebrew; names in other scripts need a font of
their own. These come from package-registry wheels of Google Fonts' files (SIL Open Font
Licence 1.1, no Reserved Font Name), one pinned file each, checked against its sha256. Each
font is cut to its default instance (Regular: the files are variable fonts) and subset to its
script's code points with every OpenType layout feature kept (the joining, conjuncts and mark
stacking that HarfBuzz applies), so ``analyzer/fonts`` holds 0.75 MB of them instead of 3.5 MB.

The output is committed; run this only to change a font or its version. Needs ``fonttools``
(installed with the test extras, by matplotlib). Exit status 0 on success, 1 with a message.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer

DEST = Path(__file__).resolve().parents[1] / "analyzer" / "fonts"

# Shared by every script: spaces, ZWNJ/ZWJ (they choose joining and half forms), the dotted
# circle HarfBuzz draws under a mark with no base, and the common punctuation of a name.
_COMMON = [(0x20, 0x20), (0xA0, 0xA0), (0x2D, 0x2E), (0x200C, 0x200D), (0x25CC, 0x25CC)]

#: output file -> (wheel requirement, wheel file, its sha256, member, code-point ranges)
FONTS = {
    "NotoSansArabic-Regular.ttf": (
        "fontpkg-noto-sans-arabic==2.12", "fontpkg_noto_sans_arabic-2.12-py3-none-any.whl",
        "eeca37a7ad6854bf1b6aa42bbce1908a6a6dcd2252ed56d021c20b613f6d16fc",
        "fontpkg_noto_sans_arabic/files/NotoSansArabic[wdth,wght].ttf",
        [(0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)]),
    "NotoSansDevanagari-Regular.ttf": (
        "fontpkg-noto-sans-devanagari==2.7", "fontpkg_noto_sans_devanagari-2.7-py3-none-any.whl",
        "3f8859d4905238a95daecf45c508dff148936e5aa60bd2e30a89333041a64adf",
        "fontpkg_noto_sans_devanagari/files/NotoSansDevanagari[wdth,wght].ttf",
        [(0x0900, 0x097F), (0xA8E0, 0xA8FF), (0x1CD0, 0x1CFF)]),
    "HindSiliguri-Regular.ttf": (  # Bengali: the registry has no Noto Sans Bengali
        "fontpkg-hind-siliguri==1.1", "fontpkg_hind_siliguri-1.1-py3-none-any.whl",
        "ad82531a7001cc565888dcbb58fa0e8053c12610c695ed0db0f0206adc0b99ed",
        "fontpkg_hind_siliguri/files/HindSiliguri-Regular.ttf",
        [(0x0980, 0x09FF)]),
    "NotoSansTamil-Regular.ttf": (
        "fontpkg-noto-sans-tamil==2.4", "fontpkg_noto_sans_tamil-2.4-py3-none-any.whl",
        "2d20504bec401fbcab6259dc8ea18bca5449fb7df1f542819236483eb36fb529",
        "fontpkg_noto_sans_tamil/files/NotoSansTamil[wdth,wght].ttf",
        [(0x0B80, 0x0BFF)]),
    "NotoSansTelugu-Regular.ttf": (
        "fontpkg-noto-sans-telugu==2.5", "fontpkg_noto_sans_telugu-2.5-py3-none-any.whl",
        "24417266bbdf61b26f167e0fd884aa63c44dd4cab6f0798617cf86983533396e",
        "fontpkg_noto_sans_telugu/files/NotoSansTelugu[wdth,wght].ttf",
        [(0x0C00, 0x0C7F)]),
    "NotoSansThai-Regular.ttf": (
        "fontpkg-noto-sans-thai==2.2", "fontpkg_noto_sans_thai-2.2-py3-none-any.whl",
        "1768cb43e1b01a5614a771a07c579c5d6109d21e8ef9fd4920de3cd7f842f863",
        "fontpkg_noto_sans_thai/files/NotoSansThai[wdth,wght].ttf",
        [(0x0E00, 0x0E7F)]),
    "NotoSansKhmer-Regular.ttf": (
        "fontpkg-noto-sans-khmer==2.4", "fontpkg_noto_sans_khmer-2.4-py3-none-any.whl",
        "81a3cc037bf40050429a85d79ef7d0e9efe299e1742b391a4a4fe84fdd78f6dd",
        "fontpkg_noto_sans_khmer/files/NotoSansKhmer[wdth,wght].ttf",
        [(0x1780, 0x17FF), (0x19E0, 0x19FF)]),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(name: str, work: Path) -> tuple[Path, str]:
    """Download, check, instance and subset one font into DEST; returns (path, its licence text)."""
    requirement, wheel_file, sha, member, ranges = FONTS[name]
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(work),
                    requirement], check=True)
    wheel = work / wheel_file
    if _sha256(wheel) != sha:
        raise RuntimeError(f"{wheel_file}: sha256 {_sha256(wheel)} is not the pinned {sha}")
    with zipfile.ZipFile(wheel) as archive:
        raw = work / Path(member).name
        raw.write_bytes(archive.read(member))
        licence = archive.read(str(Path(member).parents[1] / "LICENSE")).decode("utf-8")
    font = TTFont(raw)
    if "fvar" in font:
        defaults = {axis.axisTag: axis.defaultValue for axis in font["fvar"].axes}
        font = instancer.instantiateVariableFont(font, defaults)
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[c for lo, hi in ranges + _COMMON for c in range(lo, hi + 1)])
    subsetter.subset(font)
    out = DEST / name
    font.save(out)
    return out, licence


def main() -> int:
    try:
        licences = []
        with tempfile.TemporaryDirectory() as tmp:
            for name in FONTS:
                out, licence = build(name, Path(tmp))
                source = FONTS[name][3].rsplit("/", 1)[-1]
                licences.append(f"{name} (subset of {source}):\n{licence.splitlines()[0]}")
                print(f"{out.relative_to(DEST.parents[1])}: {out.stat().st_size / 1024:.0f} kB")
            ofl = licence.split("\n", 1)[1].lstrip()  # the licence after each font's own copyright line
        (DEST / "OFL.txt").write_text("\n\n".join(licences) + "\n\n" + ofl, encoding="utf-8")
    except (RuntimeError, OSError, subprocess.CalledProcessError, KeyError) as exc:
        print(f"vendor_fonts: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
