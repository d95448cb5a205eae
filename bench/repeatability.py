"""Repeatability: how much do the metrics move between repeat photos of unchanged skin?

Each trial renders two "captures" of the same demo-patient photo with
independent small camera and lighting differences a careful clinic still has
between visits -- rotation +-2 degrees, scale +-3 %, shift +-1.5 % of the
frame, slight perspective, exposure +-15 %, white balance +-5 % per channel,
gamma +-4 %, sensor noise 1.5 DN, JPEG quality 85..95 -- and runs
``analyzer.compare`` on them. Nothing in the skin changed, so every delta is
measurement noise. Printed per metric:

* ``CV %``: within-subject coefficient of variation, ``SD(delta) / sqrt(2) /
  mean`` (the market-leading booth system quotes 2-6 %);
* ``MDC95``: minimal detectable change, the larger of 1.96 x the SD of the
  deltas (each a difference of two captures) and the 95th percentile of |delta|
  -- a change smaller than this is not called
  significant (Weir 2005, doi:10.1519/15184.1);
* zone figures (the largest over the five zones);
* drawn areas: the same pairs compared again over discs of skin 15, 30 and 60 mm
  across (``--areas``; on a front view round a cheek's or the forehead's middle,
  taking turns, on a close-up round its skin's middle), as a practitioner's
  outline is measured: the skin inside it, no zones. Their MDC95 per light and
  disc, with the discs' mean area, go to ``DRAWN_MINIMAL_DETECTABLE_CHANGE``;
* how much the pairs' light differed (``Tone.change()``, 2.5th-97.5th percentiles; for the
  tone curve's departure from a power, the largest of front views and close-ups): the
  range within which the MDC95 holds (``MEASURED_LIGHT_CHANGE``).

A close-up's light is read from what surrounds its skin when a backdrop is in view
(``"backdrop"``). A view named
``<view>+card`` is that photo with a colour checker held beside the skin
(``tests/phantoms/card.py``): its light is then read from the card (``"card"``).
``<view>+skin-only`` is the close-up cropped to skin and hair, with no backdrop:
the camera's white balance is trusted (``"camera"``).

Usage::

    python bench/repeatability.py [--trials 30] [--views front left-cheek right-cheek
                                                         left-cheek+card right-cheek+card
                                                         left-cheek+skin-only right-cheek+skin-only]
                                        [--areas 15 30 60]

The figures in ``analyzer/metrics/repeatability.py`` come from this script's
default run; it prints a block to paste there.
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from phantoms import card as chart  # noqa: E402
from phantoms import close_ups  # noqa: E402

from analyzer import compare, load_image  # noqa: E402
from analyzer.color import linear_to_srgb, srgb_to_linear  # noqa: E402
from analyzer.metrics import METRICS  # noqa: E402
from analyzer.skin import regions  # noqa: E402

# The light of a capture, each drawn uniformly within +-its value: exposure (a gain on every
# channel), white balance (a gain on red and on blue), gamma (a power on the tone curve), and the
# JPEG quality saved at (low, high inclusive). REPEAT: a careful clinic's repeat photos, on which the
# noise limits are measured; ISSUE: the relightings the phantom tests use (issue 4: exposure +-30 %,
# white balance +-12 % per channel, gamma +-15 %, JPEG 85), on which bench/light_beyond.py measures
# how much wider the limits must be for a pair lit beyond the repeat photos.
REPEAT = {"exposure": 0.15, "balance": 0.05, "gamma": 0.04, "jpeg": (85, 95)}
ISSUE = {"exposure": 0.30, "balance": 0.12, "gamma": 0.15, "jpeg": (85, 95)}


def capture(photo: np.ndarray, rng: np.random.Generator, light: dict = REPEAT,
            corner: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """One simulated capture of `photo`: camera move, `light` (REPEAT or ISSUE), noise, JPEG. uint8 RGB.

    ``corner``: signs (-1 or +1) of exposure, red balance, blue balance and gamma, each then at the
    edge of its range rather than drawn (the draws are made all the same, so a seed's sequence holds).
    """
    h, w = photo.shape[:2]
    angle = math.radians(rng.uniform(-2, 2))
    scale = rng.uniform(0.97, 1.03)
    shift = rng.uniform(-0.015, 0.015, 2) * (w, h)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    rot = np.array([[scale * math.cos(angle), -scale * math.sin(angle), 0],
                    [scale * math.sin(angle), scale * math.cos(angle), 0], [0, 0, 1]])
    persp = np.array([[1, 0, 0], [0, 1, 0], [*rng.uniform(-1e-5, 1e-5, 2), 1]])
    move = np.array([[1, 0, cx + shift[0]], [0, 1, cy + shift[1]], [0, 0, 1]]) @ persp @ rot @ \
        np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    linear = srgb_to_linear(photo)
    linear = cv2.warpPerspective(linear, move, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    ranges = (light["exposure"], light["balance"], light["balance"], light["gamma"])
    drawn = [rng.uniform(-r, r) for r in ranges]  # exposure, red, blue, gamma: as offsets from 1
    if corner is not None:
        drawn = [sign * r for sign, r in zip(corner, ranges, strict=True)]
    exposure, red, blue, gamma = (1 + d for d in drawn)
    gains = exposure * np.array([red, 1.0, blue])
    srgb = linear_to_srgb(linear * gains.astype(np.float32)) ** np.float32(gamma)
    srgb = srgb * 255 + rng.normal(0, 1.5, srgb.shape).astype(np.float32)
    pixels = np.clip(np.rint(srgb), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    low, high = light["jpeg"]
    Image.fromarray(pixels).save(buf, "JPEG", quality=int(rng.integers(low, high + 1)))
    return np.asarray(Image.open(buf).convert("RGB"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=30, help="repeat pairs per view (default 30)")
    parser.add_argument("--views", nargs="+", default=["front", "left-cheek", "right-cheek",
                                                       "left-cheek+card", "right-cheek+card",
                                                       "left-cheek+skin-only", "right-cheek+skin-only"])
    parser.add_argument("--areas", nargs="*", type=float, default=[15.0, 30.0, 60.0], metavar="MM",
                        help="drawn discs' diameters, mm (default 15 30 60; none: whole skin only)")
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    level: dict[tuple[str, str], list[float]] = {}  # (light, key) -> mean of the two captures
    delta: dict[tuple[str, str], list[float]] = {}  # (light, key) -> deltas
    light_of: dict[str, str] = {}
    light_change: dict[str, list[float]] = {}  # Tone.change() of the pairs whose light was matched
    drawn: dict[tuple[str, float, str], list[float]] = {}  # (light, diameter, key) -> deltas
    drawn_area: dict[tuple[str, float], list[float]] = {}  # (light, diameter) -> area measured, mm²
    refused, started = 0, time.perf_counter()
    for view in args.views:
        name, _, variant = view.partition("+")
        photo = load_image(ROOT / "sample_images" / f"session1_{name}.jpg")
        if variant == "card":
            photo = chart.hold(photo, **close_ups.CARD_HELD)
        elif variant == "skin-only":
            photo = np.ascontiguousarray(photo[close_ups.SKIN_ONLY[name]])
        for trial in range(args.trials):
            before, after = capture(photo, rng), capture(photo, rng)
            c = compare(before, after)
            if c.after is None:
                refused += 1
                continue
            for diameter in args.areas:
                d = compare(before, after, mask=_drawn_disc(before, diameter, trial))
                if d.after is None:
                    continue
                drawn_area.setdefault((d.light, diameter), []).append(d.before.area_mm2)
                for key, value in d.delta.items():
                    drawn.setdefault((d.light, diameter, key), []).append(value)
            light_of[view] = c.light
            for key, value in c.tone.change().items():
                # the light's ranges from the front view; a curve's departure from a power from every
                # pair whose light was matched on its surroundings (close-ups' are a few surfaces)
                if c.light == "reference" or (key == "departure" and c.light == "backdrop"):
                    light_change.setdefault(key, []).append(value)
            for key, value in c.delta.items():
                base = key if not key.startswith("zone.") else "zone." + key.split(".", 2)[2]
                delta.setdefault((c.light, base), []).append(value)
                level.setdefault((c.light, base), []).append((c.after[key] + c.before[key]) / 2)
    elapsed = time.perf_counter() - started
    trials = args.trials * len(args.views)
    print(f"{trials} repeat pairs ({', '.join(args.views)}), {refused} refused, {elapsed:.0f} s\n")
    lights = [light for light in LIGHTS if light in light_of.values()]
    mdc: dict[str, dict[str, float]] = {light: {} for light in lights}
    cv: dict[str, dict[str, float]] = {light: {} for light in lights}
    zone_mdc: dict[str, float] = {}
    for light in lights:
        views = [v for v in args.views if light_of.get(v) == light]
        print(f"light from the {LIGHTS[light]} ({', '.join(views)}):")
        print(f"  {'metric':<32} {'CV %':>6} {'MDC95':>8} {'zone MDC95':>11}  unit")
        for m in METRICS:
            mdc[light][m.key] = mdc95(delta[(light, m.key)], m.key)
            cv[light][m.key] = _cv(delta[(light, m.key)], level[(light, m.key)])
            zone = delta.get((light, "zone." + m.key))
            if zone:
                zone_mdc[m.key] = mdc95(zone, m.key)
            shown = f"{mdc95(zone, m.key):11.3f}" if zone else f"{'-':>11}"
            print(f"  {m.key:<32} {cv[light][m.key]:6.1f} {mdc[light][m.key]:8.3f} {shown}  {m.unit}")
        print()
    print("# paste into analyzer/metrics/repeatability.py")
    print(f'MEASURED_AT = "{sys.modules["analyzer.compare"].ALGORITHM_VERSION}"')
    for name, table in (("MINIMAL_DETECTABLE_CHANGE", mdc), ("COEFFICIENT_OF_VARIATION", cv)):
        print_table(name, table)
    print("ZONE_MINIMAL_DETECTABLE_CHANGE: dict[str, float] = {")
    for key, value in zone_mdc.items():
        print(f'    "{key}": {_round(value)},')
    print("}")
    if drawn_area:
        print("DRAWN_MINIMAL_DETECTABLE_CHANGE: dict[str, tuple[tuple[float, dict[str, float]], ...]] = {")
        for light in lights:
            print(f'    "{light}": (')
            for diameter in args.areas:
                areas = drawn_area.get((light, diameter))
                if not areas:
                    continue
                median = statistics.median(areas)
                print(f"        ({median:.0f}, {{  # {diameter:g} mm disc, {len(areas)} pairs")
                for m in METRICS:
                    print(f'            "{m.key}": {_round(mdc95(drawn[(light, diameter, m.key)], m.key))},')
                print("        }),")
            print("    ),")
        print("}")
    print("MEASURED_LIGHT_CHANGE: dict[str, tuple[float, float]] = {")
    for key, values in light_change.items():
        low, high = np.percentile(values, [2.5, 97.5])
        if key == "departure":  # 0 is the same curve: only an upper limit
            low, high = 0.0, max(values)
        print(f'    "{key}": ({low:.3f}, {high:.3f}),')
    print("}")


LIGHTS = {"reference": "non-skin reference, tone matched",
          "backdrop": "close-up's surroundings, backdrop in view, tone matched",
          "card": "colour card, tone matched patch by patch",
          "camera": "camera's white balance (no reference)"}


def print_table(name: str, table: dict[str, dict[str, float]], shown=None) -> None:
    """Print `table` (light -> metric key -> figure) as Python to paste into repeatability.py."""
    shown = shown or (lambda value: str(_round(value)))
    print(f"{name}: dict[str, dict[str, float]] = {{")
    for light, values in table.items():
        print(f'    "{light}": {{')
        for key, value in values.items():
            print(f'        "{key}": {shown(value)},')
        print("    },")
    print("}")


def _drawn_disc(photo: np.ndarray, diameter_mm: float, trial: int) -> np.ndarray:
    """The skin inside a disc `diameter_mm` across, as a practitioner's outline is measured (bool HxW).

    Centred on a front view's cheek or forehead (by turns: `trial`), on a close-up's skin's middle.
    """
    skin = regions(photo)
    zones = [skin.zones[z] for z in ("left_cheek", "right_cheek", "forehead") if z in skin.zones]
    area = zones[trial % len(zones)] if zones else skin.mask
    rows, cols = np.nonzero(area)
    disc = np.zeros(skin.mask.shape, np.uint8)
    centre = int(np.median(cols)), int(np.median(rows))
    cv2.circle(disc, centre, round(diameter_mm / 2 * skin.px_per_mm), 1, -1)
    return disc.astype(bool) & skin.mask


def mdc95(deltas: list[float], key: str = "") -> float:
    """MDC95 from differences between two independent captures (their SD is already sqrt(2) x one's).

    A count's is at least 1: a spot at the threshold can come or go with the light even when
    none did in these trials (the phantom relightings of tests/test_metric_phantoms.py show it).
    """
    d = np.asarray([v for v in deltas if math.isfinite(v)])
    mdc = max(1.96 * float(d.std()), float(np.percentile(np.abs(d), 95)))
    return max(mdc, 1.0) if key.endswith("_count") else mdc


def _cv(deltas: list[float], levels: list[float]) -> float:
    """Within-subject CV %: one capture's SD (SD of differences / sqrt 2) over the mean level."""
    d = np.asarray([v for v in deltas if math.isfinite(v)])
    mean = abs(statistics.fmean([v for v in levels if math.isfinite(v)]))
    return 100 * float(d.std()) / math.sqrt(2) / mean if mean > 0 else math.nan


def _round(value: float) -> float:
    if not math.isfinite(value) or value == 0:
        return value
    return round(value, max(0, 2 - int(math.floor(math.log10(abs(value))))))


if __name__ == "__main__":
    main()
