"""JPEG re-compression: how well its quality is read, and how far it moves the compared metrics.

Two parts (docs/metrics.md, "Photos compressed again"):

* *reading*: the demo patient's three baselines and three scikit-image photos saved at JPEG
  quality 30..95 (4:2:0 chroma, as phones and messaging apps save), and a few that must read
  None (as shipped, 4:4:4 at 95, resized after compression, PNG noise); printed: the quality
  ``analyzer.compression.jpeg_quality`` reads, and its median time;
* *metrics*: repeat-capture pairs of the demo baselines (bench/repeatability.py's ``capture``:
  JPEG 85..95, as the noise limits were measured on) whose later photo is saved again at
  quality 85..50, as a messaging app does, and (``both``) with the baseline saved so too.
  Printed per quality: each metric's mean change and 90th percentile of |change|, in units of
  its noise limit, beside the pairs as captured. This is what sets
  ``analyzer.compression.MIN_QUALITY_MEASURED`` and ``MIN_COLOUR_QUALITY``.

Usage::

    python bench/compression.py [--trials 4]     # about 4 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from repeatability import capture  # noqa: E402

from analyzer import compare, load_image  # noqa: E402
from analyzer.compression import jpeg_quality  # noqa: E402
from analyzer.metrics import METRICS  # noqa: E402
from analyzer.metrics.repeatability import minimal_detectable_change  # noqa: E402

VIEWS = ("front", "left-cheek", "right-cheek")
QUALITIES = (85, 80, 75, 70, 60, 50)


def saved(img: np.ndarray, quality: int, subsampling: int = 2) -> np.ndarray:
    """`img` saved as a JPEG at `quality` and decoded again, uint8 RGB."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality, subsampling=subsampling)
    return load_image(buf.getvalue())


def reading() -> None:
    photos = {f"demo {v}": load_image(ROOT / "sample_images" / f"session1_{v}.jpg") for v in VIEWS}
    photos |= {name: getattr(data, name)() for name in ("astronaut", "coffee", "chelsea")}
    qualities = (95, 90, 88, 85, 80, 75, 70, 60, 50, 40, 30)
    print("JPEG quality read (saved at ->)\n" + f"{'photo':<16}" + "".join(f"{q:>6}" for q in qualities)
          + "   as shipped  4:4:4@95  resized  noise")
    times = []
    for name, photo in photos.items():
        row = []
        for q in qualities:
            img = saved(photo, q)
            start = time.perf_counter()
            row.append(jpeg_quality(img))
            times.append(time.perf_counter() - start)
        resized = cv2.resize(saved(photo, 70), None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
        noise = np.random.default_rng(1).normal(128, 40, photo.shape).clip(0, 255).astype(np.uint8)
        others = [jpeg_quality(photo), jpeg_quality(saved(photo, 95, 0)), jpeg_quality(resized),
                  jpeg_quality(noise)]
        print(f"{name:<16}" + "".join(f"{'-' if v is None else v:>6}" for v in row) + "   "
              + "  ".join(f"{'None' if v is None else v:>8}" for v in others))
    print(f"median time {statistics.median(times) * 1000:.0f} ms\n")


def metrics(trials: int) -> None:
    rng = np.random.default_rng(20261207)
    changes: dict[tuple[str, str], list[float]] = {}  # (condition, key) -> delta / MDC
    for view in VIEWS:
        photo = load_image(ROOT / "sample_images" / f"session1_{view}.jpg")
        for _ in range(trials):
            before, after = capture(photo, rng), capture(photo, rng)
            conditions = {"as captured": (before, after)}
            for q in QUALITIES:
                later = saved(after, q)
                conditions[f"later at {q}"] = (before, later)
                conditions[f"both at {q}"] = (saved(before, q), later)
            for condition, (b, a) in conditions.items():
                c = compare(b, a)
                for key, value in c.delta.items():
                    if key.startswith("zone.") or not np.isfinite(value):
                        continue
                    moved = value / minimal_detectable_change(key, c.light)
                    changes.setdefault((condition, key), []).append(moved)
            print(f"  {view}: trial done", flush=True)
    keys = [m.key for m in METRICS if ("as captured", m.key) in changes]
    short = [k.split(".")[1][:10] for k in keys]
    print("\nChange in noise limits: mean / 90th percentile of |change| "
          f"({trials * len(VIEWS)} pairs per row)\n{'condition':<13}" + "".join(f"{s:>14}" for s in short))
    for condition in ["as captured"] + [f"{w} at {q}" for q in QUALITIES for w in ("later", "both")]:
        cells = []
        for k in keys:
            v = changes[(condition, k)]
            cells.append(f"{statistics.fmean(v):+.1f}/{np.percentile(np.abs(v), 90):.1f}")
        print(f"{condition:<13}" + "".join(f"{c:>14}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=4, help="repeat pairs per view (default 4)")
    args = parser.parse_args()
    started = time.perf_counter()
    reading()
    metrics(args.trials)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
