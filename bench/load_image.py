"""Benchmark: how much does photo intake cost over a bare JPEG decode?

``analyzer.load_image`` checks the header, reads EXIF (orientation, capture time),
checks the file is complete, decodes and turns the photo upright. The target is
at most 1.3x the time of OpenCV's bare ``cv2.imdecode`` on a 12-megapixel phone
photo. Pillow's decode is shown for reference.

A 12-megapixel HEIC with a thumbnail (as phones store it) is timed too: ``load_image`` checks
the decoded photo against the file's thumbnail (a HEIC damaged in place decodes garbled instead
of failing), and the table says what that check costs.

Run: ``python bench/load_image.py`` (about 40 s). Prints a table; always exits 0.
"""

from __future__ import annotations

import io
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import PIL
from PIL import Image, ImageOps
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, installed or not
from analyzer import images, load_image  # noqa: E402

WIDTH, HEIGHT = 4000, 3000  # 12 megapixels, a phone's main camera
QUALITY = 92
REPEATS = 15
TARGET = 1.3


def make_photo() -> bytes:
    """A 12 MP JPEG: the astronaut upscaled, with sensor-like noise so it compresses like a photo."""
    rgb = cv2.resize(data.astronaut(), (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).normal(0.0, 4.0, rgb.shape)
    rgb = np.clip(rgb + noise, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    assert ok
    return buf.tobytes()


def with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The same JPEG with an EXIF APP1 segment carrying ``orientation`` (same pixel data)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()  # starts with b"Exif\0\0"
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:2] + app1 + jpeg[2:]


def decoders(jpeg: bytes) -> dict:
    array = np.frombuffer(jpeg, np.uint8)

    def pil():
        with Image.open(io.BytesIO(jpeg)) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))

    return {
        "cv2.imdecode": lambda: cv2.imdecode(array, cv2.IMREAD_COLOR),  # applies EXIF orientation too
        "load_image": lambda: load_image(jpeg),
        "PIL": pil,
    }


def time_interleaved(contenders: dict, repeats: int) -> dict:
    """Median wall time per contender in ms; one run of each per round, order rotated."""
    names = list(contenders)
    for name in names:  # warm up caches and lazy imports
        contenders[name]()
    times = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names[round_ % len(names):] + names[: round_ % len(names)]:
            start = time.perf_counter()
            contenders[name]()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> int:
    jpeg = make_photo()
    variants = {"upright": jpeg, "EXIF orientation 6": with_orientation(jpeg, 6)}

    shape = load_image(variants["EXIF orientation 6"]).shape
    assert shape == (WIDTH, HEIGHT, 3), shape  # turned upright: 3000 wide, 4000 tall

    print(f"{WIDTH} x {HEIGHT} JPEG ({WIDTH * HEIGHT / 1e6:.0f} MP, quality {QUALITY}, "
          f"{len(jpeg) / 2**20:.1f} MB); median of {REPEATS} interleaved runs, ms")
    print(f"Python {platform.python_version()}, OpenCV {cv2.__version__}, Pillow {PIL.__version__}, "
          f"{platform.machine()}")
    print()
    header = f"{'variant':<20} {'cv2.imdecode':>12} {'load_image':>11} {'PIL':>8} {'load_image/cv2':>15}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name, data_ in variants.items():
        ms = time_interleaved(decoders(data_), REPEATS)
        ratio = ms["load_image"] / ms["cv2.imdecode"]
        worst = max(worst, ratio)
        print(f"{name:<20} {ms['cv2.imdecode']:>12.1f} {ms['load_image']:>11.1f} {ms['PIL']:>8.1f} "
              f"{ratio:>14.2f}x")
    print()
    verdict = "met" if worst <= TARGET else "NOT met"
    print(f"target load_image <= {TARGET}x cv2.imdecode: {verdict} (worst {worst:.2f}x)")
    heic_table(jpeg)
    return 0


def heic_table(jpeg: bytes) -> None:
    """load_image of a 12 MP HEIC with a 320-pixel thumbnail, with and without the thumbnail check."""
    import pillow_heif

    rgb = load_image(jpeg)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "HEIF", quality=80, thumbnails=[320])
    heic = buf.getvalue()
    check = images._thumbnail_mismatch

    def unchecked():
        images._thumbnail_mismatch = lambda data, image: None
        try:
            return load_image(heic)
        finally:
            images._thumbnail_mismatch = check

    ms = time_interleaved({"load_image": lambda: load_image(heic), "without the check": unchecked,
                           "pillow_heif": lambda: np.asarray(pillow_heif.open_heif(heic)[0])}, REPEATS)
    print()
    print(f"{WIDTH} x {HEIGHT} HEIC (quality 80, 320-pixel thumbnail, {len(heic) / 2**20:.1f} MB); "
          f"median of {REPEATS} interleaved runs, ms")
    for name, value in ms.items():
        print(f"{name:<20} {value:>8.1f}")
    print(f"the thumbnail check costs {ms['load_image'] - ms['without the check']:.1f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
