"""Which brown spots are found: detection rate against a spot's darkness and size, on two real faces.

``tests/test_metric_phantoms.py`` plants four spots at four hand-picked places; whether each is
found there depends as much on the skin at that place as on the detector (a spot planted on a
patch lighter than the skin around it, or touching a natural blotch, reads weaker or merges).
This plants spots at random places instead -- 8 per photo, at least 18 mm apart and 6 mm inside
the skin mask, in 4 layouts, so 32 places per face -- and reports, per darkness (melanin OD,
natural log, along melanin's absorption direction) and radius, the share of places where
``analyze`` finds a spot there -- its peak or its centroid within 1.5 mm of the planted centre,
or on the spot's flat top (0.7 of its radius) for spots larger than that -- with the contrast and
diameter it reads there. Spots are planted as in the tests (:func:`phantoms.skin.plant_spots`:
flat to 0.7 of the radius, fading to nothing at 1.3 of it). ``OD 0`` is nothing planted: how
often a natural blemish already lies within that reach of a random place (the floor of this
check: a share near it says nothing was found of the planted spot). Last, the same spots (2.5 mm)
as a later visit's new spots: ``compare`` of the photo with its copy that has them, counted as
the records count a later visit (a new spot must be 3 MI units darker than the baseline was there).

The faces are the tests' (astronaut: young, even skin; Hopper: older, furrowed, blotchy skin,
about 145 natural spots in its mask). 0.1 OD is 4.3 MI units; the detector needs at least 10 MI
units (0.23 OD) over the surrounding skin at a spot's centre and on average.

Usage::

    python bench/spot_sensitivity.py          # about 7 minutes on 2 cores
"""

from __future__ import annotations

import functools
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from phantoms import hopper, skin  # noqa: E402
from test_metric_phantoms import FOUND_WITHIN_MM, found_reach_mm, nearest_spot  # noqa: E402

from analyzer import analyze, compare  # noqa: E402

FACES = {skin.NAME: skin, hopper.NAME: hopper}
ODS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6)
RADII_MM = (1.5, 2.5, 4.0, 6.0)
LAYOUTS, PER_LAYOUT = 4, 8
APART_MM, INSIDE_MM = 18.0, 6.0
SEED = 1
COMPARE_RADIUS_MM = 2.5


def sites(face) -> list[list[tuple[float, float]]]:
    """LAYOUTS lists of PER_LAYOUT random places (x, y px) on the face's skin mask."""
    rng = np.random.default_rng(SEED)
    mask, ppm = face.skin_mask(), face.PX_PER_MM
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5) > INSIDE_MM * ppm
    ys, xs = np.nonzero(inside)
    layouts = []
    for _ in range(LAYOUTS):
        chosen: list[tuple[float, float]] = []
        for i in rng.permutation(len(xs)):
            place = (float(xs[i]), float(ys[i]))
            if all(math.dist(place, other) > APART_MM * ppm for other in chosen):
                chosen.append(place)
            if len(chosen) == PER_LAYOUT:
                break
        layouts.append(chosen)
    return layouts


def _measure(job: tuple[str, float, float, int]) -> list[tuple[bool, float, float]]:
    """(found, contrast MI units, diameter mm) at each place of one layout with its spots planted.

    With nothing planted (OD 0) the photo is the same for every radius and layout: it is
    analysed once per face and process.
    """
    name, od, radius_mm, layout = job
    face = FACES[name]
    places = sites(face)[layout]
    found = _spots(name, od, radius_mm, layout) if od > 0 else _spots(name, 0.0, 0.0, 0)
    out = []
    for place in places:
        best, dist = nearest_spot(found, place)
        if dist < found_reach_mm(radius_mm) * face.PX_PER_MM:
            out.append((True, found[best].contrast, found[best].diameter_mm))
        else:
            out.append((False, math.nan, math.nan))
    return out


@functools.cache
def _spots(name: str, od: float, radius_mm: float, layout: int) -> tuple:
    """The spots ``analyze`` finds in the face with one layout's spots planted (none at OD 0)."""
    face = FACES[name]
    photo = face.base_photo()
    if od > 0:
        photo = skin.plant_spots(photo, sites(face)[layout], radius_mm, od, face.PX_PER_MM)
    return analyze(photo, mask=face.skin_mask(), px_per_mm=face.PX_PER_MM).spots


def _compare(job: tuple[str, float, int]) -> float:
    """``compare(base, base with one layout's spots of COMPARE_RADIUS_MM planted)``: spots counted as new."""
    name, od, layout = job
    face = FACES[name]
    photo = face.base_photo()
    later = skin.plant_spots(photo, sites(face)[layout], COMPARE_RADIUS_MM, od, face.PX_PER_MM)
    return compare(photo, later).delta["pigmentation.spot_count"]


def main() -> None:
    start = time.perf_counter()
    jobs = [(name, od, r, k) for name in FACES for r in RADII_MM for od in ODS for k in range(LAYOUTS)]
    pairs = [(name, od, k) for name in FACES for od in ODS[1:] for k in range(LAYOUTS)]
    with ProcessPoolExecutor(2) as pool:
        results = dict(zip(jobs, pool.map(_measure, jobs), strict=True))
        new = dict(zip(pairs, pool.map(_compare, pairs), strict=True))
    print(f"share of {LAYOUTS * PER_LAYOUT} random places where a planted spot is found (peak or centroid "
          f"within {FOUND_WITHIN_MM:g} mm, or 0.7 of its radius);\n"
          "in brackets: the median contrast read (MI units) and diameter (mm) of those found")
    for name in FACES:
        print(f"\n{name}")
        print(f"{'radius':>8}" + "".join(f"{f'OD {od:g} ({od * 100 / math.log(10):.0f} MI)':>22}"
                                         for od in ODS))
        for r in RADII_MM:
            cells = []
            for od in ODS:
                rows = [row for k in range(LAYOUTS) for row in results[(name, od, r, k)]]
                hit = [row for row in rows if row[0]]
                figures = (f" ({np.median([h[1] for h in hit]):.0f}/{np.median([h[2] for h in hit]):.1f})"
                           if hit and od > 0 else "")
                cells.append(f"{f'{100 * len(hit) / len(rows):.0f} %{figures}':>22}")
            print(f"{f'{r:g} mm':>8}" + "".join(cells))
    print(f"\ncompare(photo, the same photo with {PER_LAYOUT} spots of {COMPARE_RADIUS_MM:g} mm planted): "
          f"new spots counted per planted spot, over {LAYOUTS} layouts (the count of a later visit)")
    print(f"{'':>8}" + "".join(f"{f'OD {od:g}':>22}" for od in ODS[1:]))
    for name in FACES:
        print(f"{name:>8}" + "".join(
            f"{np.mean([new[(name, od, k)] for k in range(LAYOUTS)]) / PER_LAYOUT:>22.2f}" for od in ODS[1:]))
    print(f"\n(OD 0: nothing planted: a natural blemish within reach of a random place, where a spot of that "
          f"radius would be judged found; {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
