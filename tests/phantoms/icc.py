"""Minimal ICC v2 display profiles (matrix + gamma), for testing colour management.

Pillow's ImageCms can only *create* sRGB, so tests that need a wide-gamut phone
profile build one here from published colorants (ICC.1:2001-04, sections 6.1
header, 6.4 tags, 6.5 tag types).
"""

from __future__ import annotations

import struct

__all__ = ["DISPLAY_P3_D50", "matrix_gamma_profile"]

#: Display P3 (DCI-P3 primaries, D65 white) colorants adapted to D50 by Bradford,
#: as in Apple's "Display P3" profile; columns sum to the D50 white point.
DISPLAY_P3_D50 = {
    "r": (0.5151, 0.2412, -0.0011),
    "g": (0.2920, 0.6922, 0.0419),
    "b": (0.1571, 0.0666, 0.7841),
}
_D50 = (0.9642, 1.0, 0.8249)


def _s15f16(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15f16(x) + _s15f16(y) + _s15f16(z)


def _curve(gamma: float) -> bytes:
    return b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", round(gamma * 256))


def _desc(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    body = b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_)) + ascii_
    body += struct.pack(">II", 0, 0)  # no Unicode description
    body += struct.pack(">HB", 0, 0) + b"\0" * 67  # no ScriptCode description
    return body


def matrix_gamma_profile(description: str, colorants: dict, gamma: float = 2.2) -> bytes:
    """An RGB display profile with the given D50 colorants and one gamma for all channels."""
    tags = [
        (b"desc", _desc(description)),
        (b"wtpt", _xyz(*_D50)),
        (b"rXYZ", _xyz(*colorants["r"])),
        (b"gXYZ", _xyz(*colorants["g"])),
        (b"bXYZ", _xyz(*colorants["b"])),
        (b"rTRC", _curve(gamma)),
        (b"gTRC", _curve(gamma)),
        (b"bTRC", _curve(gamma)),
        (b"cprt", b"text" + b"\0" * 4 + b"No copyright, test profile\0"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)  # tags start on 4-byte boundaries
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000)
    header += b"mntrRGB XYZ " + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp"
    header += b"\0" * 24  # platform, flags, manufacturer, model, attributes
    header += struct.pack(">I", 0) + b"".join(_s15f16(v) for v in _D50)  # intent, illuminant
    header += b"\0" * 4 + b"\0" * 16 + b"\0" * 28  # creator, profile id, reserved
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data
