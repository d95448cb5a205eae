"""Is a furrow's shading neutral? The colour of the lines the wrinkle filter finds, on both phantom faces.

The unmixing (``analyzer.color.unmix``) takes shading to darken R, G and B alike: optical
density along (1, 1, 1). A furrow's floor is lit partly by light that has passed through the
skin of its walls, so its shadow may be skin-coloured instead, and then part of it reads as
melanin: brown spots between furrows are judged against a surround the furrows darken
(docs/metrics.md, "A second face").

For each face of ``tests/test_metric_phantoms.py`` this prints:

* the direction (R, G, B; largest 1) of the mean band-passed optical density (difference of
  Gaussians, 0.15 and 2 mm) over the pixels on lines (``wrinkle_map``);
* the unmixing's condition number with that direction as shading, against neutral;
* melanin on the lines minus melanin on the rest of the skin (MI units, smoothed 0.5 mm),
  unmixed with neutral shading and with the lines' own direction.

Usage::

    python bench/furrow_shading.py      # about 10 seconds
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from phantoms import hopper, skin  # noqa: E402

from analyzer.color import HAEMOGLOBIN, MELANIN, SHADING, optical_density, srgb_to_linear, unmix  # noqa: E402
from analyzer.metrics.filters import gaussian  # noqa: E402
from analyzer.metrics.texture import relief_map, wrinkle_map  # noqa: E402

MI_PER_OD = 100 / math.log(10)


def _band(od: np.ndarray, px_per_mm: float) -> np.ndarray:
    return np.stack([gaussian(np.ascontiguousarray(od[..., c]), 0.15 * px_per_mm)
                     - gaussian(np.ascontiguousarray(od[..., c]), 2.0 * px_per_mm) for c in range(3)], -1)


def _melanin_on_lines(amounts: np.ndarray, lines: np.ndarray, skin_mask: np.ndarray,
                      px_per_mm: float) -> float:
    melanin = gaussian(np.ascontiguousarray(amounts[..., 1]), 0.5 * px_per_mm) * MI_PER_OD
    return float(melanin[lines].mean() - melanin[skin_mask & ~lines].mean())


def main() -> None:
    for face in (skin, hopper):
        img, mask, ppm = face.base_photo(), face.skin_mask(), face.PX_PER_MM
        od = optical_density(srgb_to_linear(img))
        amounts = unmix(od)
        lines = wrinkle_map(relief_map(amounts), mask, px_per_mm=ppm) & mask
        mean = _band(od, ppm)[lines].mean(axis=0)
        direction = (mean / mean.max()).astype(np.float32)
        basis = np.stack([HAEMOGLOBIN, MELANIN, direction], axis=1)
        own = od @ np.linalg.inv(basis).astype(np.float32).T
        print(f"{face.NAME}: lines on {100 * lines.sum() / mask.sum():.1f} % of the skin; their OD direction "
              f"{[round(float(v), 3) for v in direction]}")
        print(f"  unmixing condition number: {np.linalg.cond(basis):.1f} with it, "
              f"{np.linalg.cond(np.stack([HAEMOGLOBIN, MELANIN, SHADING], axis=1)):.1f} with neutral shading")
        neutral, along = (_melanin_on_lines(a, lines, mask, ppm) for a in (amounts, own))
        print(f"  melanin on lines minus the rest (MI units): {neutral:.1f} with neutral shading, "
              f"{along:.1f} with the lines' direction")


if __name__ == "__main__":
    main()
