"""Where the lighting gaps come from: an 8-bit edit of the photo, or the light itself?

``tests/test_metric_phantoms.py`` relights the phantom as an editing app would: it
takes the 8-bit photo, applies exposure, white balance and a tone curve, and rounds to
8 bits again (``skin.relight``). Rounding twice combs the histogram: every so many code
values one is skipped or doubled, which puts a one-code step along a contour line
through smooth skin -- about 1 MI unit of melanin, the contrast of a faint blemish.
A camera taking the same face under other light rounds the light once.

This runs the tests' lighting checks on both constructions of the same phantom, with
the same planted changes, lightings and yardsticks:

* ``edited``: as the tests (every photo rounded from the one before: base, planted, relit);
* ``captured``: the face kept as linear light, changes planted there, and each photo
  (base, planted, relit) rounded to 8 bits once by ``skin.capture``.

Printed: each metric's p90 move under 12 lightings as a share of its planted yardstick
(the issue's limit is 10 %), under gains alone via ``analyze`` and under full relighting
(gains, gamma, JPEG 85) via ``compare``; and planted redness's cross-talk into spots.
Two more columns take the captured full relighting apart: ``+ exact tone`` measures the
later photo through the exact inverse of its relighting instead of the tone curve that
``compare`` fits (an oracle no real pair has), and ``+ no JPEG`` also leaves JPEG out:
what remains with the exact tone is the JPEG of the skin itself.

Usage::

    python bench/lighting_causes.py        # about 4 minutes on 2 cores
"""

from __future__ import annotations

import functools
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from phantoms import skin  # noqa: E402
from test_metric_phantoms import (  # noqa: E402
    HB_OD,
    LIGHTING_PERCENTILE,
    LIGHTING_SHARE,
    MEL_OD,
    N_LIGHTINGS,
    SEED,
    YARDSTICKS,
    scene,
)

from analyzer import analyze, compare  # noqa: E402
from analyzer.color import linear_to_srgb, srgb_to_linear  # noqa: E402

MEDIA = ("edited", "captured")
LIGHTINGS = {"gains": skin.random_lightings(N_LIGHTINGS, SEED, gamma=0.0, jpeg_quality=None),
             "full": skin.random_lightings(N_LIGHTINGS, SEED)}


@functools.cache
def _scene(medium: str, name: str) -> np.ndarray:
    return scene(name, captured=medium == "captured")


def _relit(medium: str, light: dict) -> np.ndarray:
    """The treated phantom under `light`: the 8-bit photo relit (edited) or its scene captured."""
    treated = _scene(medium, "treated")
    return skin.relight(treated, **light) if medium == "edited" else skin.capture(treated, **light)


def _photo(medium: str, name: str) -> np.ndarray:
    """The uint8 photo of phantom `name`; ``gains<i>`` / ``full<i>``: the treated one relit."""
    for kind in LIGHTINGS:
        if name.startswith(kind):
            return _relit(medium, LIGHTINGS[kind][int(name[len(kind):])])
    photo = _scene(medium, name)
    return photo if medium == "edited" else skin.capture(photo)


def _analyze(job: tuple[str, str]) -> dict[str, float]:
    return analyze(_photo(*job), mask=skin.skin_mask(), px_per_mm=skin.PX_PER_MM).to_dict()


class _ExactTone:
    """The exact inverse of a relighting, in place of the tone curve ``compare`` fits (an oracle)."""

    pixels = 1  # "fitted": compare then reports the light as matched

    def __init__(self, light: dict):
        self.gains = np.float32(light["exposure"]) * np.asarray(light["white_balance"], np.float32)
        self.gamma = np.float32(light["gamma"])

    def apply(self, linear: np.ndarray) -> np.ndarray:
        srgb = linear_to_srgb(linear) ** (1 / self.gamma)
        return np.minimum(srgb_to_linear(srgb) / self.gains, 1.0).astype(np.float32)

    def change(self) -> dict[str, float]:
        return {}  # compare's light note reads this; the bench reads only the deltas


def _compare(job: tuple[str, str, str]) -> dict[str, float]:
    """``compare(before, after).delta``; an ``after`` of ``exact:full<i>[:nojpeg]`` is measured
    with the exact inverse of its relighting as the tone curve (and without JPEG if so named)."""
    medium, before, after = job
    module = sys.modules["analyzer.compare"]  # the module, not the function of that name
    fitted = module._tone
    if after.startswith("exact:"):
        _, name, *jpeg = after.split(":")
        light = dict(LIGHTINGS["full"][int(name[4:])], **({"jpeg_quality": None} if jpeg else {}))
        module._tone = lambda *_: _ExactTone(light)
        later = _relit(medium, light)
    else:
        later = _photo(medium, after)
    try:
        return dict(compare(_photo(medium, before), later).delta)
    finally:
        module._tone = fitted


def main() -> None:
    start = time.perf_counter()
    yards = sorted(set(YARDSTICKS.values()))
    singles = [(m, n) for m in MEDIA for n in ["base", "treated", *yards,
                                               *(f"gains{i}" for i in range(N_LIGHTINGS))]]
    pairs = [(m, "base", y) for m in MEDIA for y in yards]
    pairs += [(m, "treated", f"full{i}") for m in MEDIA for i in range(N_LIGHTINGS)]
    pairs += [("captured", "treated", f"exact:full{i}{jpeg}") for jpeg in ("", ":nojpeg")
              for i in range(N_LIGHTINGS)]
    with ProcessPoolExecutor(2) as pool:
        analysed = dict(zip(singles, pool.map(_analyze, singles), strict=True))
        compared = dict(zip(pairs, pool.map(_compare, pairs), strict=True))

    def share(medium: str, kind: str, key: str) -> float:
        if kind == "gains":
            effect = analysed[(medium, YARDSTICKS[key])][key] - analysed[(medium, "base")][key]
            moves = [analysed[(medium, f"gains{i}")][key] - analysed[(medium, "treated")][key]
                     for i in range(N_LIGHTINGS)]
        else:  # "full", or "exact:full{i}" + "" / ":nojpeg"
            effect = compared[(medium, "base", YARDSTICKS[key])][key]
            moves = [compared[(medium, "treated", kind.format(i=i))][key] for i in range(N_LIGHTINGS)]
        return 100 * float(np.percentile(np.abs(moves), LIGHTING_PERCENTILE)) / abs(effect)

    columns = [("gains edited", "edited", "gains"), ("gains captured", "captured", "gains"),
               ("full edited", "edited", "full{i}"), ("full captured", "captured", "full{i}"),
               ("+ exact tone", "captured", "exact:full{i}"),
               ("+ no JPEG", "captured", "exact:full{i}:nojpeg")]
    print(f"p{LIGHTING_PERCENTILE} move under {N_LIGHTINGS} lightings, % of the planted yardstick "
          f"(limit {100 * LIGHTING_SHARE:.0f} %)")
    print(f"{'metric':<28}" + "".join(f"{title:>16}" for title, _, _ in columns))
    for key in YARDSTICKS:
        print(f"{key:<28}" + "".join(f"{share(medium, kind, key):>15.1f}%" for _, medium, kind in columns))
    key = "pigmentation.spot_count"
    crosstalk = [analysed[(m, f"hb{HB_OD}")][key] - analysed[(m, "base")][key] for m in MEDIA]
    print(f"\nhaemoglobin +{HB_OD} OD over the mask -> spot count change (limit +-1): "
          + ", ".join(f"{m} {v:+g}" for m, v in zip(MEDIA, crosstalk, strict=True)))
    print(f"(melanin yardstick: +{MEL_OD} OD over the mask; {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
