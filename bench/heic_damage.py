"""Benchmark: does the HEIC thumbnail check tell damaged photos from undamaged ones?

HEVC has no checksum, so a HEIC whose bytes are damaged in place decodes to a garbled photo
instead of failing. ``analyzer.images`` compares the decoded photo with the thumbnail stored in
the file (``_thumbnail_mismatch``). This measures its statistic, the largest block's
mean difference in 8-bit levels, on:

- undamaged photos: the demo patient's photos, five of scikit-image's and matplotlib's Grace
  Hopper, each encoded at quality 40, 70 and 95 with a 320-pixel thumbnail;
- the same files with 32 bytes flipped at 10 places from 5 % to 97 % of the file, kept when
  they still decode and differ visibly from the undamaged decode (a 64-pixel block off by more
  than 15 levels).

It prints both ranges, and for the threshold in use the share of garbled files refused and how
garbled the ones let through are. Run: ``python bench/heic_damage.py`` (about 3 minutes).
"""

from __future__ import annotations

import glob
import io
import sys
from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np
from PIL import Image
from skimage import data as skdata

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, installed or not
from analyzer import images  # noqa: E402
from analyzer.images import InvalidImage, load_image  # noqa: E402

QUALITIES = (40, 70, 95)
PLACES = np.linspace(0.05, 0.97, 10)
VISIBLE = 15.0  # levels, a 64-pixel block: a garbled decode


def photos() -> list[np.ndarray]:
    root = Path(__file__).resolve().parents[1]
    found = [load_image(p) for p in sorted(glob.glob(str(root / "sample_images" / "*.jpg")))]
    found += [skdata.astronaut(), skdata.chelsea(), skdata.coffee(),
              cv2.resize(skdata.rocket(), None, fx=2, fy=2)]
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as im:
        found.append(np.asarray(im.convert("RGB")))
    return found


def garbling(image: np.ndarray, reference: np.ndarray, block: int = 64) -> float:
    d = np.abs(image.astype(np.float32) - reference).mean(axis=2)
    h, w = d.shape[0] // block * block, d.shape[1] // block * block
    return float(d[:h, :w].reshape(h // block, block, w // block, block).mean(axis=(1, 3)).max())


def main() -> int:
    threshold = images._THUMB_MISMATCH
    images._THUMB_MISMATCH = float("inf")  # let every damaged file decode, to measure it
    clean, damaged = [], []
    try:
        for rgb in photos():
            for quality in QUALITIES:
                buf = io.BytesIO()
                Image.fromarray(rgb).save(buf, "HEIF", quality=quality, thumbnails=[320])
                data = buf.getvalue()
                reference = load_image(data)
                clean.append(images._thumbnail_mismatch(data, reference))
                for place in PLACES:
                    bad = bytearray(data)
                    start = int(len(bad) * place)
                    bad[start:start + 32] = bytes(b ^ 0x5A for b in bad[start:start + 32])
                    try:
                        decoded = load_image(bytes(bad))
                    except InvalidImage:
                        continue  # refused by the decoder itself
                    seen = garbling(decoded, reference)
                    if seen > VISIBLE:
                        damaged.append((images._thumbnail_mismatch(bytes(bad), decoded), seen))
    finally:
        images._THUMB_MISMATCH = threshold
    stat = np.array([m for m, _ in damaged])
    seen = np.array([g for _, g in damaged])
    caught = stat > threshold
    print(f"undamaged: {len(clean)} files, mismatch {min(clean):.1f} to {max(clean):.1f} levels")
    print(f"garbled:   {len(damaged)} files, mismatch {stat.min():.1f} to {stat.max():.1f} "
          f"(10th percentile {np.percentile(stat, 10):.1f})")
    print(f"threshold {threshold:g}: {100 * caught.mean():.1f} % of garbled files refused, "
          f"{sum(c > threshold for c in clean)} of {len(clean)} undamaged; the garbled "
          f"let through differ from the undamaged decode by at most "
          f"{seen[~caught].max() if (~caught).any() else 0:.1f} levels in a 64-pixel block")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
