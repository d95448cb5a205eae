"""Build the demo patient: a synthetic microneedling course on a real public-domain photo.

Run from the repository root (``make run`` does it when the photos are missing)::

    python sample_images/make_demo.py [--out sample_images]

The face is NASA's portrait of astronaut Eileen Collins, shipped by
scikit-image as ``skimage.data.astronaut()`` (public domain). Upscaled 10x it
becomes a clinic-like frontal photo (face about 880 px wide). Onto the skin we
plant, in optical density (OD = -ln of linear reflectance), changes a course of
collagen-induction treatment is expected to bring, and record exactly what was
planted in ``truth.json`` so that the analyzer's numbers can be checked:

* **redness** along haemoglobin's absorption direction: rosacea-like cheek
  redness that fades over the course, and the acute erythema of the day after a
  session (photos one and three days after session 2) fading exponentially;
* **pigmentation** along melanin's absorption direction: six brown spots of
  1.8 to 3 mm that fade session by session;
* **texture**: crow's-feet and forehead lines (neutral shading) that soften; a
  constant field of pores and micro-relief so the skin is not plastic-smooth.

Every photo is then "taken" with a slightly different camera: small rotation,
scale, shift and perspective, exposure, white balance and tone curve, sensor
noise and JPEG compression, as at a real clinic. One photo is stored sideways
with EXIF orientation 6, as phones do. Each photo's exact mapping to the
baseline photo of its view is in ``truth.json`` (``to_baseline``, a 3x3
homography from the upright photo's pixel x, y to the baseline's).

Everything is seeded: the same library versions give the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data as skdata

from analyzer.color import linear_to_srgb, srgb_to_linear

SEED = 20260302
UPSCALE = 10  # scene pixels per source pixel
SRC_ORIGIN = (60, 0)  # source x, y of the scene's top-left corner
SRC_SIZE = (330, 330)  # source region turned into the scene (w, h)
FACE_WIDTH_MM = 140.0  # typical adult bizygomatic width
FACE_WIDTH_SRC = 88.0  # measured on the source photo, in source pixels
PX_PER_MM = FACE_WIDTH_SRC * UPSCALE / FACE_WIDTH_MM  # about 6.3 in the scene

# Optical-density directions (R, G, B), largest component 1. Haemoglobin
# absorbs green most and red hardly at all; melanin absorption falls with
# wavelength roughly as lambda^-3.5 (650, 550, 460 nm); shading is neutral.
HAEMOGLOBIN = np.array([0.04, 1.00, 0.55], np.float32)
MELANIN = np.array([0.30, 0.54, 1.00], np.float32)
SHADING = np.array([1.00, 1.00, 1.00], np.float32)

# Landmarks of the source photo, in source pixels (x, y), measured by eye.
FACE_CENTER = (224.0, 125.0)
FACE_AXES = (44.0, 52.0)
EXCLUDED = [  # eyes, brows, nostrils, mouth: (center, semi-axes)
    ((203, 101), (10, 5)), ((245, 102), (10, 5)),
    ((200, 92), (12, 3.5)), ((247, 92), (12, 3.5)),
    ((222, 131), (10, 4)), ((225, 146), (27, 9)),
]
CHEEKS = [(195.0, 125.0), (252.0, 125.0)]

# Brown spots: source (x, y), radius in mm, melanin OD at baseline.
SPOTS = [
    ((190.0, 117.0), 2.5, 0.40),
    ((199.0, 134.0), 2.0, 0.35),
    ((256.0, 116.0), 3.0, 0.45),
    ((259.0, 128.0), 1.8, 0.35),
    ((229.0, 84.0), 2.2, 0.40),
    ((212.0, 162.0), 2.0, 0.35),
]

# Fine lines: source-pixel polylines (crow's feet, forehead), shading OD at baseline.
LINE_OD = 0.14
LINES = [
    [(189, 100), (183, 97), (178, 95)],
    [(189, 103), (183, 103), (177, 104)],
    [(190, 106), (184, 109), (180, 112)],
    [(259, 101), (265, 98), (270, 96)],
    [(259, 104), (265, 104), (271, 105)],
    [(258, 107), (264, 110), (268, 113)],
    [(207, 83), (224, 82), (242, 83)],
    [(209, 87), (225, 86.5), (240, 87)],
]


@dataclass(frozen=True)
class Visit:
    """One capture occasion: a treatment session, or a follow-up photo after one."""

    session: int
    date: dt.datetime
    kind: str  # "treatment" or "follow-up"
    cheek_redness_od: float  # rosacea-like, fading over the course
    erythema_od: float  # acute post-treatment erythema at capture time
    spot_strength: float  # fraction of each spot's baseline melanin left
    line_strength: float  # fraction of each line's baseline depth left
    hours_since_treatment: float | None
    needle_depth_mm: float | None


# Acute erythema after microneedling: peak 0.30 OD, fading with time constant 36 h.
ERYTHEMA_PEAK_OD = 0.30
ERYTHEMA_TAU_H = 36.0


def _visits() -> list[Visit]:
    start = dt.datetime(2026, 3, 2, 10, 0)
    weeks = [0, 4, 8, 12, 16]
    cheek = [0.12, 0.10, 0.085, 0.07, 0.06]
    spots = [1.00, 0.85, 0.72, 0.60, 0.50]
    lines = [1.00, 0.90, 0.80, 0.70, 0.60]
    depth = [1.0, 1.25, 1.5, 1.5, None]
    visits = []
    for i, week in enumerate(weeks):
        date = start + dt.timedelta(weeks=week, minutes=17 * i)
        visits.append(Visit(i + 1, date, "treatment" if depth[i] else "review",
                            cheek[i], 0.0, spots[i], lines[i], None, depth[i]))
        if i == 1:  # follow-ups one and three days after session 2
            for days in (1, 3):
                hours = 24.0 * days - 2.5
                erythema = ERYTHEMA_PEAK_OD * math.exp(-hours / ERYTHEMA_TAU_H)
                visits.append(Visit(2, date + dt.timedelta(hours=hours), "follow-up",
                                    cheek[i], erythema, spots[i], lines[i], hours, None))
    return visits


VIEWS = {
    # name: (scene center in source px, magnification, output size (w, h))
    "front": ((224.0, 150.0), 1.0, (2400, 2600)),
    "left-cheek": ((252.0, 124.0), 2.0, (1400, 1100)),  # the patient's left: image right
    "right-cheek": ((196.0, 124.0), 2.0, (1400, 1100)),
}


def to_scene(x: float, y: float) -> tuple[float, float]:
    """Source pixel coordinates to scene pixel coordinates (pixel centres)."""
    return ((x - SRC_ORIGIN[0] + 0.5) * UPSCALE - 0.5, (y - SRC_ORIGIN[1] + 0.5) * UPSCALE - 0.5)


def _ellipse_mask(shape: tuple[int, int], center, axes) -> np.ndarray:
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    cx, cy = to_scene(*center)
    ax, ay = axes[0] * UPSCALE, axes[1] * UPSCALE
    return ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1.0


def _skin_mask(scene_srgb: np.ndarray) -> np.ndarray:
    """Float 0..1 mask of the face's skin in the scene (soft edges)."""
    shape = scene_srgb.shape[:2]
    mask = _ellipse_mask(shape, FACE_CENTER, FACE_AXES)
    for center, axes in EXCLUDED:
        mask &= ~_ellipse_mask(shape, center, axes)
    ycrcb = cv2.cvtColor((scene_srgb * 255).astype(np.uint8), cv2.COLOR_RGB2YCrCb)
    cr, cb = ycrcb[..., 1].astype(np.int16), ycrcb[..., 2].astype(np.int16)
    mask &= (cr > 138) & (cr < 175) & (cb > 85) & (cb < 130)
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((9, 9), np.uint8))
    return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 6.0)


def _gaussian_field(shape, centers, sigma_src: float) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    field = np.zeros(shape, np.float32)
    s = sigma_src * UPSCALE
    for c in centers:
        cx, cy = to_scene(*c)
        field += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))
    return np.minimum(field, 1.0)


def _spot_field(shape, center, radius_mm: float, rng: np.random.Generator) -> np.ndarray:
    """A brown macule: flat top, irregular outline (+-12%), soft edge over 30% of the radius."""
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    cx, cy = to_scene(*center)
    angle = np.arctan2(yy - cy, xx - cx)
    outline = 1.0 + sum(0.06 * np.cos(k * angle + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5))
    r = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / (radius_mm * PX_PER_MM * outline)
    edge = np.clip((r - 0.7) / 0.6, 0.0, 1.0)
    return (0.5 + 0.5 * np.cos(np.pi * edge)).astype(np.float32)


def _line_field(shape) -> np.ndarray:
    canvas = np.zeros(shape, np.float32)
    for line in LINES:
        pts = np.array([to_scene(*p) for p in line], np.float32)
        # a smooth quadratic through the three points, tapering at both ends
        t = np.linspace(0, 1, 200)[:, None]
        control = 2 * pts[1] - (pts[0] + pts[2]) / 2  # so the curve passes through pts[1]
        curve = (1 - t) ** 2 * pts[0] + 2 * t * (1 - t) * control + t ** 2 * pts[2]
        taper = np.sin(np.pi * t[:, 0]) ** 0.5
        for (x0, y0), (x1, y1), w in zip(curve[:-1], curve[1:], taper[:-1], strict=True):
            cv2.line(canvas, (int(x0 * 16), int(y0 * 16)), (int(x1 * 16), int(y1 * 16)),
                     float(w), 2, cv2.LINE_AA, shift=4)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 1.3)
    return canvas / max(float(canvas.max()), 1e-6)


def _texture_field(shape, rng: np.random.Generator) -> np.ndarray:
    """Pores (about 60 per cm^2, 0.3 mm) and fine micro-relief, in shading OD."""
    n_px = shape[0] * shape[1]
    density = 60.0 / (10 * PX_PER_MM) ** 2
    count = rng.poisson(density * n_px)
    pores = np.zeros(shape, np.float32)
    ys = rng.integers(0, shape[0], count)
    xs = rng.integers(0, shape[1], count)
    np.add.at(pores, (ys, xs), rng.uniform(0.6, 1.4, count).astype(np.float32))
    sigma = 0.15 * PX_PER_MM
    pores = cv2.GaussianBlur(pores, (0, 0), sigma) * (2 * np.pi * sigma * sigma) * 0.07
    relief = rng.standard_normal(shape).astype(np.float32)
    relief = cv2.GaussianBlur(relief, (0, 0), 1.0) - cv2.GaussianBlur(relief, (0, 0), 4.0)
    relief *= 0.02 / max(float(relief.std()), 1e-6)
    return pores + relief


def _camera(rng: np.random.Generator, baseline: bool) -> dict:
    if baseline:
        return {"rotation_deg": 0.0, "scale": 1.0, "shift_px": [0.0, 0.0], "perspective": [0.0, 0.0],
                "exposure": 1.0, "white_balance": [1.0, 1.0, 1.0], "gamma": 1.0}
    return {
        "rotation_deg": float(rng.uniform(-3, 3)),
        "scale": float(rng.uniform(0.95, 1.05)),
        "shift_px": [float(v) for v in rng.uniform(-40, 40, 2)],
        "perspective": [float(v) for v in rng.uniform(-1.5e-5, 1.5e-5, 2)],
        "exposure": float(rng.uniform(0.85, 1.15)),
        "white_balance": [float(rng.uniform(0.93, 1.07)), 1.0, float(rng.uniform(0.93, 1.07))],
        "gamma": float(rng.uniform(0.96, 1.04)),
    }


def _perturbation(cam: dict, center: tuple[float, float]) -> np.ndarray:
    """3x3 homography applied in the photo frame about `center`."""
    cx, cy = center
    a = math.radians(cam["rotation_deg"])
    s = cam["scale"]
    to_origin = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], float)
    rot_scale = np.array([[s * math.cos(a), -s * math.sin(a), 0],
                          [s * math.sin(a), s * math.cos(a), 0],
                          [0, 0, 1]])
    persp = np.array([[1, 0, 0], [0, 1, 0], [cam["perspective"][0], cam["perspective"][1], 1]])
    back = np.array([[1, 0, cx + cam["shift_px"][0]], [0, 1, cy + cam["shift_px"][1]], [0, 0, 1]], float)
    return back @ persp @ rot_scale @ to_origin


def _view_matrix(view: str) -> np.ndarray:
    """Baseline mapping scene px -> photo px for a view."""
    center, mag, (w, h) = VIEWS[view]
    sx, sy = to_scene(*center)
    return np.array([[mag, 0, (w - 1) / 2 - mag * sx], [0, mag, (h - 1) / 2 - mag * sy], [0, 0, 1]], float)


def _exif(when: dt.datetime, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "DemoCam"  # Make
    exif[0x0110] = "Synthetic clinic camera"  # Model
    exif[0x0112] = orientation
    exif[0x0132] = when.strftime("%Y:%m:%d %H:%M:%S")
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
    sub[0x9011] = "+01:00"
    gps = exif.get_ifd(0x8825)  # a location, so intake's metadata stripping has work to do
    gps[1], gps[2], gps[3], gps[4] = "N", (29.0, 33.0, 0.0), "W", (95.0, 5.0, 0.0)
    return exif.tobytes()


def render(out_dir: Path) -> dict:
    """Write every photo, ``manifest.json`` and ``truth.json`` into `out_dir`; return the truth."""
    rng = np.random.default_rng(SEED)
    src = skdata.astronaut().astype(np.float32) / 255.0
    x0, y0 = SRC_ORIGIN
    region = src[y0 : y0 + SRC_SIZE[1], x0 : x0 + SRC_SIZE[0]]
    scene_srgb = cv2.resize(region, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
    scene_srgb = np.clip(scene_srgb, 0, 1)
    shape = scene_srgb.shape[:2]
    base_od = -np.log(np.clip(srgb_to_linear(scene_srgb), 1e-4, 1.0))

    skin = _skin_mask(scene_srgb)
    cheeks = _gaussian_field(shape, CHEEKS, 9.0) * skin
    spots = [_spot_field(shape, c, r, rng) * skin for c, r, _ in SPOTS]
    lines = _line_field(shape) * skin
    texture = _texture_field(shape, rng) * skin

    visits = _visits()
    photos, manifest_sessions = [], {}
    for vi, visit in enumerate(visits):
        hb = visit.cheek_redness_od * cheeks + visit.erythema_od * skin
        mel = sum(od * visit.spot_strength * f for f, (_, _, od) in zip(spots, SPOTS, strict=True))
        shade = LINE_OD * visit.line_strength * lines + texture
        od = base_od + hb[..., None] * HAEMOGLOBIN + mel[..., None] * MELANIN + shade[..., None] * SHADING
        scene_lin = np.exp(-od).astype(np.float32)
        views = ["front"] if visit.kind == "follow-up" else list(VIEWS)
        for view in views:
            baseline = vi == 0
            cam = _camera(rng, baseline)
            _, _, (w, h) = VIEWS[view]
            perturb = _perturbation(cam, ((w - 1) / 2, (h - 1) / 2))
            to_photo = perturb @ _view_matrix(view)
            lin = cv2.warpPerspective(scene_lin, to_photo, (w, h), flags=cv2.INTER_CUBIC,
                                      borderMode=cv2.BORDER_REFLECT)
            gains = cam["exposure"] * np.array(cam["white_balance"], np.float32)
            srgb = linear_to_srgb(lin * gains) ** cam["gamma"]
            srgb = srgb * 255.0 + rng.normal(0.0, 1.5, srgb.shape).astype(np.float32)
            pixels = np.clip(np.rint(srgb), 0, 255).astype(np.uint8)
            orientation = 6 if (visit.session == 3 and view == "front") else 1
            stored = np.ascontiguousarray(np.rot90(pixels, 1)) if orientation == 6 else pixels
            tag = f"session{visit.session}"
            if visit.kind == "follow-up":
                tag += f"_day{round(visit.hours_since_treatment / 24)}"
            name = f"{tag}_{view}.jpg"
            buf = io.BytesIO()
            Image.fromarray(stored).save(buf, "JPEG", quality=90, subsampling=2,
                                         exif=_exif(visit.date, orientation))
            (out_dir / name).write_bytes(buf.getvalue())
            photos.append({
                "file": name,
                "session": visit.session,
                "kind": visit.kind,
                "view": view,
                "captured_at": visit.date.isoformat(),
                "hours_since_treatment": visit.hours_since_treatment,
                "to_baseline": np.linalg.inv(perturb).tolist(),
                "camera": {**cam, "exif_orientation": orientation, "jpeg_quality": 90, "noise_dn": 1.5},
                "planted": {
                    "cheek_redness_od": visit.cheek_redness_od,
                    "erythema_od": round(visit.erythema_od, 5),
                    "spot_strength": visit.spot_strength,
                    "line_strength": visit.line_strength,
                },
            })
            manifest_sessions.setdefault(visit.date, {
                "session": visit.session,
                "kind": visit.kind,
                "date": visit.date.isoformat(),
                "treatment": "microneedling" if visit.needle_depth_mm else None,
                "needle_depth_mm": visit.needle_depth_mm,
                "hours_since_treatment": visit.hours_since_treatment,
                "photos": {},
            })["photos"][view] = name

    truth = {
        "about": "What make_demo.py planted in the demo patient's photos; see its docstring.",
        "source": "skimage.data.astronaut(): NASA portrait of Eileen Collins, public domain",
        "px_per_mm_front": PX_PER_MM,
        "px_per_mm": {v: PX_PER_MM * VIEWS[v][1] for v in VIEWS},
        "od_directions_rgb": {"haemoglobin": HAEMOGLOBIN.tolist(), "melanin": MELANIN.tolist(),
                              "shading": SHADING.tolist()},
        "erythema_model": {"peak_od": ERYTHEMA_PEAK_OD, "tau_hours": ERYTHEMA_TAU_H},
        "spots": [
            {"id": i + 1, "radius_mm": r, "melanin_od": od,
             "center": {v: _in_view(v, c) for v in VIEWS if _in_view(v, c)}}
            for i, (c, r, od) in enumerate(SPOTS)
        ],
        "lines": [{"id": i + 1, "shading_od": LINE_OD,
                   "points": {v: [_in_view(v, p) for p in line] for v in VIEWS
                              if all(_in_view(v, p) for p in line)}}
                  for i, line in enumerate(LINES)],
        "photos": photos,
    }
    manifest = {
        "patient": {
            "name": "Demo Patient",
            "demo": True,
            "year_of_birth": 1981,
            "fitzpatrick_type": "II",
            "notes": "Synthetic demo record; not a real patient.",
        },
        "course": "Four microneedling sessions four weeks apart, review at week 16",
        "device": "Pen microneedling device (demo)",
        "zones_treated": ["forehead", "cheeks", "nose", "chin"],
        "sessions": sorted(manifest_sessions.values(), key=lambda s: s["date"]),
    }
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return truth


def _in_view(view: str, src_point) -> list[float] | None:
    """A source point in a view's baseline photo pixels, or None if outside it."""
    _, _, (w, h) = VIEWS[view]
    x, y, _ = _view_matrix(view) @ np.array([*to_scene(*src_point), 1.0])
    return [round(float(x), 2), round(float(y), 2)] if 0 <= x < w and 0 <= y < h else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    truth = render(args.out)
    print(f"wrote {len(truth['photos'])} photos, manifest.json and truth.json to {args.out}")


if __name__ == "__main__":
    main()
