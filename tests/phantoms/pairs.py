"""Registration pairs with a known answer, built from real photographs our dependencies ship.

A registration method is judged on pairs of photos whose true mapping is known
exactly: a *fixed* (baseline) photo, a *moving* (follow-up) photo of the same
scene taken with a different "camera", and ``truth``, the map from moving-photo
pixel coordinates to fixed-photo pixel coordinates. Mismatched pairs (different
scenes) have no truth and must be refused.

Kinds of pair (``Pair.kind``)
-----------------------------
``"homography"``
    Textured whole photos: ``skimage.data`` astronaut (a face), chelsea, coffee,
    rocket, and the demo patient's baseline front view
    (``sample_images/session1_front.jpg``). ``truth`` is a (3, 3) homography.
``"nonrigid"``
    The same photos; ``truth`` is a :class:`SmoothWarp`, a homography plus a
    smooth displacement field peaking at 2..3.92 px (at most :data:`MAX_WARP_PX`),
    Gaussian bumps 12..25 % of the shorter side wide, as a change of expression
    or pose would add.
``"lowtexture"``
    Close-ups with no face: cheek and forehead patches of the astronaut, 28 px
    wide, upscaled to the frame (57x at 1600 px: smooth, nearly featureless), the
    demo patient's cheek and forehead
    close-ups (pores and a spot or two), and a cheek with a planted atrophic scar.
    ``truth`` is a (3, 3) homography.
``"mismatch"``
    Two different photos, the patient's other cheek, or two regions of one photo
    that do not overlap. ``truth`` is None and ``same_scene`` is False.

Geometry
--------
Every image is rendered from a *scene* (one of the photos, RGB uint8) by one
resampling with bicubic interpolation; where a view would sample the scene
coarser than 0.8 scene px per px, both photos use the scene reduced by pixel
area averaging instead, so nothing aliases. Coordinates are (x, y) with pixel
centres at integers, the convention of ``cv2.warpPerspective`` and
``cv2.remap``: pixel (0, 0) covers [-0.5, 0.5] x [-0.5, 0.5]. The fixed photo
views an axis-aligned rectangle of the scene (``F``: fixed px -> scene px); the
moving photo shows, at its pixel ``p``, the scene at ``F(truth(p))``. Scene
content beyond the photo's edge is mirrored (``BORDER_REFLECT_101``); the fixed
view never reaches it. OpenCV quantises sampling positions to 1/32 px, so the
rendered photos honour ``truth`` to within about 0.02 px.

Random camera of the moving photo: rotation within +-15 degrees, scale
0.8..1.25 (log-uniform), shift up to 8 % of the frame, perspective with the
projective divisor within 1 +- 0.06 at the corners; at least 40 % of each frame
lies in the other. Photometry, applied after the geometry: exposure +-30 % and
white balance +-12 % per channel in linear light, then a tone-curve power
(gamma) 0.85..1.15 -- on the moving photo only, the change between visits --
and on both photos Gaussian sensor noise of 1..4 DN and JPEG re-encoding at
quality 70..95 (4:2:0 chroma).

Everything is a pure function of ``(kind, index, size, seed)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from skimage import data as skdata

from analyzer.color import linear_to_srgb, srgb_to_linear

__all__ = [
    "KINDS",
    "MAX_WARP_PX",
    "Footprint",
    "Pair",
    "SmoothWarp",
    "apply_homography",
    "iter_pairs",
    "make_pair",
    "make_pairs",
    "mean_tre",
    "tre_points",
]

KINDS = ("homography", "nonrigid", "lowtexture", "mismatch")

MAX_ROTATION_DEG = 15.0
SCALE_RANGE = (0.8, 1.25)  # moving -> fixed
MAX_SHIFT = 0.08  # of the frame's width and height
MAX_PERSPECTIVE = 0.03  # projective divisor change per axis at the frame's edge
MIN_OVERLAP = 0.4  # share of each frame that must lie in the other
MAX_WARP_PX = 4.0  # largest non-rigid displacement, fixed-photo px
EXPOSURE = 0.30
WHITE_BALANCE = 0.12
GAMMA = 0.15
NOISE_DN = (1.0, 4.0)
JPEG_QUALITY = (70, 95)
TRE_GRID_COLUMNS = 32

_MAX_SCENE_PX_PER_PX = 0.8  # the scene is never sampled coarser than this (no aliasing)
_DEMO = Path(__file__).resolve().parents[2] / "sample_images"


# ----------------------------------------------------------------------------------------------
# Truth


def apply_homography(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) points (x, y) through a (3, 3) homography; returns (N, 2) float64."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    out = np.empty_like(p)
    den = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    out[:, 0] = (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / den
    out[:, 1] = (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / den
    return out


@dataclass(frozen=True, eq=False)
class SmoothWarp:
    """A homography plus a smooth displacement: moving (x, y) -> fixed (x, y).

    ``g(p) = H(p) + u(p)`` with ``u(p) = sum_k w_k exp(-|p - c_k|^2 / (2 sigma^2))``,
    a sum of Gaussian bumps evaluated at the *moving* point ``p``.

    Attributes
    ----------
    homography : (3, 3) float64 ndarray
    centers : (K, 2) float64 ndarray
        Bump centres, moving-photo px.
    weights : (K, 2) float64 ndarray
        Bump displacements, fixed-photo px.
    sigma : float
        Bump width, moving-photo px.
    """

    homography: np.ndarray
    centers: np.ndarray
    weights: np.ndarray
    sigma: float

    def displacement(self, points: np.ndarray) -> np.ndarray:
        """``u(p)``: (N, 2) float64 displacement in fixed-photo px at (N, 2) moving points."""
        p = np.asarray(points, np.float64).reshape(-1, 2)
        u = np.zeros_like(p)
        for (cx, cy), weight in zip(self.centers, self.weights, strict=True):
            bump = np.exp(-((p[:, 0] - cx) ** 2 + (p[:, 1] - cy) ** 2) / (2.0 * self.sigma**2))
            u += bump[:, None] * weight
        return u

    def __call__(self, points: np.ndarray) -> np.ndarray:
        return apply_homography(self.homography, points) + self.displacement(points)


@dataclass(frozen=True, eq=False)
class Footprint:
    """Where an image lies in its base photograph (homography part only for non-rigid pairs).

    Attributes
    ----------
    photo : str
        ``"astronaut"``, ``"chelsea"``, ``"coffee"`` or ``"rocket"`` (the demo patient is
        the astronaut).
    corners : (4, 2) float64 ndarray
        The image's outer corners in that photo's pixels (x, y), clockwise.
    """

    photo: str
    corners: np.ndarray


@dataclass(frozen=True, eq=False)
class Pair:
    """A fixed and a moving photo and the truth between them.

    Attributes
    ----------
    fixed, moving : (H, W, 3) uint8 ndarray
        RGB, read-only.
    kind : str
        One of :data:`KINDS`.
    truth : (3, 3) ndarray, SmoothWarp or None
        Moving (x, y) -> fixed (x, y); None for mismatched pairs.
    same_scene : bool
        False for mismatched pairs, which a registration method must refuse.
    source : str
        Which scene(s), e.g. ``"coffee"`` or ``"demo-left-cheek | demo-right-cheek"``.
    footprints : (Footprint, Footprint)
        Fixed's and moving's outlines in their base photographs.
    params : dict
        The random camera: rotation_deg, scale, shift_px, perspective, exposure,
        white_balance, gamma, noise_dn, jpeg_quality (moving, fixed), warp_px.
    """

    fixed: np.ndarray
    moving: np.ndarray
    kind: str
    truth: np.ndarray | SmoothWarp | None
    same_scene: bool
    source: str
    footprints: tuple[Footprint, Footprint]
    params: dict = field(default_factory=dict)

    def true_to_fixed(self, points: np.ndarray) -> np.ndarray:
        """The true position in the fixed photo of (N, 2) moving-photo points (x, y)."""
        if self.truth is None:
            raise ValueError("a mismatched pair has no true mapping")
        if isinstance(self.truth, SmoothWarp):
            return self.truth(points)
        return apply_homography(self.truth, points)


def tre_points(pair: Pair) -> np.ndarray:
    """The points at which target registration error is measured, moving-photo px.

    A regular grid over the moving photo, ``TRE_GRID_COLUMNS`` (32) columns and
    ``round(32 * H / W)`` rows, at the centres of equal cells
    (``x_i = (i + 0.5) W / 32 - 0.5``), keeping the points whose true position lies
    inside the fixed photo, ``[0, W - 1] x [0, H - 1]``: the region both photos show.

    Returns
    -------
    (N, 2) float64 ndarray
    """
    h, w = pair.moving.shape[:2]
    fh, fw = pair.fixed.shape[:2]
    nx, ny = TRE_GRID_COLUMNS, max(2, round(TRE_GRID_COLUMNS * h / w))
    xs = (np.arange(nx) + 0.5) * w / nx - 0.5
    ys = (np.arange(ny) + 0.5) * h / ny - 0.5
    grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    q = pair.true_to_fixed(grid)
    inside = (q[:, 0] >= 0) & (q[:, 0] <= fw - 1) & (q[:, 1] >= 0) & (q[:, 1] <= fh - 1)
    return grid[inside]


def mean_tre(pair: Pair, to_fixed: Callable[[np.ndarray], np.ndarray]) -> float:
    """Mean target registration error of an estimated mapping, fixed-photo px.

    Parameters
    ----------
    pair : Pair
        A pair of the same scene.
    to_fixed : callable
        Maps (N, 2) moving-photo points (x, y) to (N, 2) fixed-photo points.

    Returns
    -------
    float
        Mean Euclidean distance between ``to_fixed(p)`` and the truth over
        :func:`tre_points`; ``inf`` if the estimate is not finite there.
    """
    points = tre_points(pair)
    estimate = np.asarray(to_fixed(points.copy()), np.float64)
    if estimate.shape != points.shape:
        raise ValueError(f"to_fixed returned shape {estimate.shape}, expected {points.shape}")
    error = np.linalg.norm(estimate - pair.true_to_fixed(points), axis=1)
    return float(error.mean()) if np.isfinite(error).all() else float("inf")


# ----------------------------------------------------------------------------------------------
# Scenes


@dataclass(frozen=True)
class _Source:
    """A scene and the part of it the fixed photo views."""

    load: Callable[[], np.ndarray]  # cached, read-only RGB uint8
    photo: str  # base photograph
    to_photo: tuple  # 3x3 (row tuples): scene px -> base-photo px
    center: tuple[float, float] | None = None  # fixed view's centre, scene px; None: the middle
    width: float | None = None  # fixed view's width, scene px; None: 62..72 % of the widest


def _readonly(image: np.ndarray) -> np.ndarray:
    image = np.ascontiguousarray(image)
    image.setflags(write=False)
    return image


@functools.cache
def _skimage_photo(name: str) -> np.ndarray:
    return _readonly(getattr(skdata, name)())


# The demo patient's views, as sample_images/make_demo.py renders them: the astronaut
# (source px) upscaled 10x into a scene, and each view a magnification of that scene about
# a source centre (make_demo.VIEWS). Session 1 is the baseline, taken with the identity
# camera. tests/test_phantom_pairs.py checks these numbers against make_demo.py.
_DEMO_UPSCALE = 10.0
_DEMO_VIEWS = {
    "front": ((224.0, 150.0), 1.0, (2400, 2600)),
    "left-cheek": ((252.0, 124.0), 2.0, (1400, 1100)),
    "right-cheek": ((196.0, 124.0), 2.0, (1400, 1100)),
}


def _demo_to_astronaut(view: str) -> np.ndarray:
    """3x3: pixel (x, y) of the demo's session-1 ``view`` photo -> astronaut pixel."""
    (cx, cy), mag, (w, h) = _DEMO_VIEWS[view]
    k = mag * _DEMO_UPSCALE  # photo px per astronaut px
    # photo x = (w - 1) / 2 + k (x_src - cx): both are pixel centres of the same grid lines
    return np.array([[1 / k, 0, cx - (w - 1) / (2 * k)], [0, 1 / k, cy - (h - 1) / (2 * k)], [0, 0, 1]])


@functools.cache
def _demo_photo(view: str) -> np.ndarray:
    from analyzer import load_image  # the one loader: orientation, colour profile, RGB

    return _readonly(load_image(_DEMO / f"session1_{view}.jpg"))


@functools.cache
def _scarred_cheek() -> np.ndarray:
    """The right-cheek close-up with a planted atrophic scar, about 30 x 1.3 mm (12.6 px/mm).

    A pale, less red, pore-free band (melanin and blood lost, as in a mature
    atrophic scar) along a gentle curve, with a faint shadow along its rims.
    """
    rgb = _demo_photo("right-cheek")
    t = np.linspace(0.0, 1.0, 64)[:, None]
    p0, p1, p2 = np.array([560.0, 540.0]), np.array([720.0, 560.0]), np.array([850.0, 760.0])
    curve = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2  # quadratic Bezier, scene px
    line = np.full(rgb.shape[:2], 255, np.uint8)
    cv2.polylines(line, [np.round(curve).astype(np.int32)], False, 0, 1)
    d = cv2.distanceTransform(line, cv2.DIST_L2, 5)
    core = np.exp(-0.5 * (d / 7.0) ** 2)[..., None]
    rim = np.exp(-0.5 * ((d - 15.0) / 4.0) ** 2)[..., None]
    lin = srgb_to_linear(rgb.astype(np.float32) / 255.0)
    smooth = cv2.GaussianBlur(lin, (0, 0), 3.0)  # scars have no pores
    lin = lin * (1 - core) + smooth * core
    lin = lin * (1 + core * np.array([0.10, 0.20, 0.20], np.float32)) * (1 - 0.06 * rim)
    return _readonly(np.round(linear_to_srgb(lin) * 255).astype(np.uint8))


_I3 = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def _demo_source(view: str, center=None, width=None, load=None) -> _Source:
    to_photo = tuple(map(tuple, _demo_to_astronaut(view)))
    return _Source(load or functools.partial(_demo_photo, view), "astronaut", to_photo, center, width)


def _photo_source(name: str, center=None, width=None) -> _Source:
    return _Source(functools.partial(_skimage_photo, name), name, _I3, center, width)


_SOURCES = {
    # textured
    "astronaut": _photo_source("astronaut", (256.0, 200.0)),  # the face and the suit
    "chelsea": _photo_source("chelsea"),
    "coffee": _photo_source("coffee"),
    "rocket": _photo_source("rocket"),
    "demo-front": _demo_source("front", (1200.0, 1150.0), 1300.0),
    "astronaut-flag": _photo_source("astronaut", (55.0, 190.0), 100.0),
    "astronaut-shuttle": _photo_source("astronaut", (420.0, 170.0), 110.0),
    # low texture: skin with no face in view
    "astronaut-cheek": _photo_source("astronaut", (198.0, 122.0), 28.0),
    "astronaut-forehead": _photo_source("astronaut", (224.0, 86.0), 28.0),
    "demo-left-cheek": _demo_source("left-cheek", (640.0, 560.0), 560.0),
    "demo-right-cheek": _demo_source("right-cheek", (700.0, 650.0), 500.0),
    "demo-forehead": _demo_source("front", (1200.0, 700.0), 260.0),
    "demo-front-cheek": _demo_source("front", (880.0, 1060.0), 300.0),
    "demo-scar": _demo_source("right-cheek", (700.0, 650.0), 500.0, _scarred_cheek),
}

_KIND_SOURCES = {
    "homography": ("astronaut", "chelsea", "coffee", "rocket", "demo-front"),
    "nonrigid": ("astronaut", "chelsea", "coffee", "rocket", "demo-front"),
    "lowtexture": ("demo-left-cheek", "demo-right-cheek", "demo-forehead", "demo-scar",
                   "astronaut-cheek", "astronaut-forehead"),
}
_MISMATCHES = (
    ("astronaut", "coffee"),  # different photos
    ("demo-left-cheek", "demo-right-cheek"),  # the patient's other cheek
    ("chelsea", "rocket"),
    ("demo-forehead", "demo-front-cheek"),  # two skin regions of one photo
    ("astronaut-flag", "astronaut-shuttle"),  # two regions of one photo
    ("astronaut-cheek", "astronaut-forehead"),
)


@functools.cache
def _scene(name: str, reduction: float) -> tuple[np.ndarray, np.ndarray]:
    """A source's scene reduced by ``reduction`` (<= 1) and the 3x3 map original -> reduced px."""
    image = _SOURCES[name].load()
    if reduction >= 1.0:
        return image, np.eye(3)
    h, w = image.shape[:2]
    nw, nh = round(w * reduction), round(h * reduction)
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    fx, fy = nw / w, nh / h  # pixel-area alignment: x' = (x + 0.5) f - 0.5
    return _readonly(small), np.array([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5], [0, 0, 1]])


@dataclass(frozen=True)
class _View:
    scene: np.ndarray  # RGB uint8
    to_scene: np.ndarray  # 3x3: fixed-view px -> scene px
    to_photo: np.ndarray  # 3x3: scene px -> base-photo px
    photo: str


def _fixed_view(name: str, size: tuple[int, int], rng: np.random.Generator) -> _View:
    """Draw where a fixed photo of ``size`` (W, H) looks in a source's scene."""
    src = _SOURCES[name]
    w, h = size
    sh, sw = src.load().shape[:2]
    largest = min(sw, sh * w / h)
    if src.width is None:
        width = largest * rng.uniform(0.62, 0.72)
    else:
        width = src.width * rng.uniform(0.95, 1.05)
    middle = (sw - 1) / 2, (sh - 1) / 2
    center = np.array(src.center or middle) + rng.uniform(-0.05, 0.05, 2) * width
    height = width * h / w
    margin = 2.0  # bicubic support: the fixed view never samples a mirrored border
    half = np.array([width, height]) / 2
    center = np.clip(center, half + margin - 0.5, np.array([sw, sh]) - half - margin - 0.5)
    s = width / w  # scene px per fixed px
    edge = center - half
    to_scene = np.array([[s, 0, edge[0] + 0.5 * s], [0, s, edge[1] + 0.5 * s], [0, 0, 1]])
    # Reduce the scene (in steps, so few versions are cached) if the moving photo, up to
    # 1.25 x 1.06 coarser than the fixed one, would sample it coarser than 0.8 px per px.
    coarsest = (src.width or 0.72 * largest) * 1.05 / w * SCALE_RANGE[1] * (1 + 2 * MAX_PERSPECTIVE)
    reduction = 1.0
    if coarsest > _MAX_SCENE_PX_PER_PX:
        reduction = 2.0 ** (np.floor(4 * np.log2(_MAX_SCENE_PX_PER_PX / coarsest)) / 4)
    scene, shrink = _scene(name, float(reduction))
    return _View(scene, shrink @ to_scene, np.array(src.to_photo) @ np.linalg.inv(shrink), src.photo)


def _random_homography(rng: np.random.Generator, size: tuple[int, int]) -> tuple[np.ndarray, dict]:
    """A moving -> fixed homography about the frame's centre, and its parameters."""
    w, h = size
    c = np.array([(w - 1) / 2, (h - 1) / 2])
    theta = np.deg2rad(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG))
    scale = float(np.exp(rng.uniform(*np.log(SCALE_RANGE))))
    shift = rng.uniform(-MAX_SHIFT, MAX_SHIFT, 2) * (w, h)
    persp = rng.uniform(-MAX_PERSPECTIVE, MAX_PERSPECTIVE, 2)
    centre = np.array([[1, 0, -c[0]], [0, 1, -c[1]], [0, 0, 1]])
    tilt = np.array([[1, 0, 0], [0, 1, 0], [persp[0] / (c[0] + 0.5), persp[1] / (c[1] + 0.5), 1]])
    cos, sin = scale * np.cos(theta), scale * np.sin(theta)
    rotate = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]])
    back = np.array([[1, 0, c[0] + shift[0]], [0, 1, c[1] + shift[1]], [0, 0, 1]])
    params = {"rotation_deg": float(np.rad2deg(theta)), "scale": scale,
              "shift_px": shift.tolist(), "perspective": persp.tolist()}
    return back @ rotate @ tilt @ centre, params


def _corners(size: tuple[int, int]) -> np.ndarray:
    w, h = size
    return np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])


def _overlap(h: np.ndarray, size: tuple[int, int]) -> float:
    """The smaller of the shares of each frame that the other covers, under homography ``h``."""
    w, ht = size
    xs, ys = np.meshgrid(np.linspace(0, w - 1, 24), np.linspace(0, ht - 1, 18))
    grid = np.stack([xs.ravel(), ys.ravel()], 1)

    def share(points):
        return np.mean((points[:, 0] >= 0) & (points[:, 0] <= w - 1)
                       & (points[:, 1] >= 0) & (points[:, 1] <= ht - 1))

    return min(share(apply_homography(h, grid)), share(apply_homography(np.linalg.inv(h), grid)))


def _random_warp(rng: np.random.Generator, size: tuple[int, int],
                 homography: np.ndarray) -> tuple[SmoothWarp, float]:
    """Homography plus six Gaussian bumps, sigma 12..25 % of the shorter side; and its peak, px.

    The peak displacement over the moving frame is drawn from 2..3.92 px.
    """
    w, h = size
    sigma = float(rng.uniform(0.12, 0.25) * min(w, h))
    centers = rng.uniform(-0.1, 1.1, (6, 2)) * (w, h)
    weights = rng.normal(size=(6, 2))
    step = sigma / 8.0
    xs, ys = np.meshgrid(np.arange(0.0, w - 1 + step, step), np.arange(0.0, h - 1 + step, step))
    grid = np.stack([np.minimum(xs.ravel(), w - 1), np.minimum(ys.ravel(), h - 1)], 1)
    unit = SmoothWarp(homography, centers, weights, sigma)
    peak = np.linalg.norm(unit.displacement(grid), axis=1).max()
    # 0.98: between grid points sigma/8 apart the peak can exceed the sampled one (measured 0.3 %)
    amplitude = rng.uniform(2.0, 0.98 * MAX_WARP_PX)
    return SmoothWarp(homography, centers, weights * (amplitude / peak), sigma), float(amplitude)


# ----------------------------------------------------------------------------------------------
# Photometry


def _camera(rgb: np.ndarray, rng: np.random.Generator, *, relative: bool) -> tuple[np.ndarray, dict]:
    """Exposure, white balance, tone curve (if ``relative``), then sensor noise and JPEG."""
    exposure, balance, gamma = 1.0, np.ones(3), 1.0
    if relative:
        exposure = rng.uniform(1 - EXPOSURE, 1 + EXPOSURE)
        balance = rng.uniform(1 - WHITE_BALANCE, 1 + WHITE_BALANCE, 3)
        gamma = rng.uniform(1 - GAMMA, 1 + GAMMA)
    noise = rng.uniform(*NOISE_DN)
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    v = np.arange(256, dtype=np.float32) / 255.0
    lin = srgb_to_linear(v)[None, :] * np.float32(exposure) * balance[:, None].astype(np.float32)
    lut = (linear_to_srgb(lin) ** np.float32(gamma)) * np.float32(255.0)  # (3, 256)
    out = rng.standard_normal(rgb.shape, dtype=np.float32)
    out *= np.float32(noise)
    for c in range(3):
        out[..., c] += lut[c][rgb[..., c]]
    u8 = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    decoded = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    params = {"exposure": float(exposure), "white_balance": balance.tolist(), "gamma": float(gamma),
              "noise_dn": float(noise), "jpeg_quality": quality}
    return _readonly(decoded), params


# ----------------------------------------------------------------------------------------------
# Rendering


def _render(view: _View, size: tuple[int, int], to_fixed: np.ndarray | SmoothWarp | None) -> np.ndarray:
    """Sample a view's scene at ``to_scene(to_fixed(p))`` for every pixel p of a ``size`` image."""
    w, h = size
    flags = cv2.INTER_CUBIC
    border = cv2.BORDER_REFLECT_101
    if not isinstance(to_fixed, SmoothWarp):
        m = view.to_scene if to_fixed is None else view.to_scene @ to_fixed
        return cv2.warpPerspective(view.scene, m, (w, h), flags=flags | cv2.WARP_INVERSE_MAP,
                                   borderMode=border)
    rows = []
    for y0 in range(0, h, 256):  # in bands, to bound memory on 12-megapixel frames
        x, y = np.arange(w, dtype=np.float64), np.arange(y0, min(h, y0 + 256), dtype=np.float64)
        xs, ys = np.meshgrid(x, y)
        q = apply_homography(to_fixed.homography, np.stack([xs.ravel(), ys.ravel()], 1))
        # the bumps are separable: exp(-|p - c|^2 / 2s^2) = exp(-(x - cx)^2 / 2s^2) exp(-(y - cy)^2 / 2s^2)
        gx = np.exp(-((x[None] - to_fixed.centers[:, :1]) ** 2) / (2 * to_fixed.sigma**2))
        gy = np.exp(-((y[None] - to_fixed.centers[:, 1:]) ** 2) / (2 * to_fixed.sigma**2))
        q[:, 0] += ((to_fixed.weights[:, :1] * gy).T @ gx).ravel()
        q[:, 1] += ((to_fixed.weights[:, 1:] * gy).T @ gx).ravel()
        q = apply_homography(view.to_scene, q).astype(np.float32).reshape(*xs.shape, 2)
        rows.append(cv2.remap(view.scene, q[..., 0], q[..., 1], flags, borderMode=border))
    return np.concatenate(rows)


def _footprint(view: _View, to_fixed: np.ndarray | None, size: tuple[int, int]) -> Footprint:
    m = view.to_photo @ view.to_scene
    if to_fixed is not None:
        m = m @ to_fixed
    return Footprint(view.photo, apply_homography(m, _corners(size)))


def _inside_scene(view: _View, to_fixed: np.ndarray, size: tuple[int, int]) -> bool:
    corners = apply_homography(view.to_scene @ to_fixed, _corners(size))
    sh, sw = view.scene.shape[:2]
    return bool((corners >= 2).all() and (corners[:, 0] <= sw - 3).all() and (corners[:, 1] <= sh - 3).all())


def _disjoint(a: Footprint, b: Footprint) -> bool:
    if a.photo != b.photo:
        return True
    area, _ = cv2.intersectConvexConvex(a.corners.astype(np.float32), b.corners.astype(np.float32))
    return area <= 0.0


def make_pair(kind: str, index: int, *, size: tuple[int, int] = (1600, 1200), seed: int = 0) -> Pair:
    """Build one registration pair.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    index : int
        Which pair of that kind (>= 0); sources are taken in turn.
    size : (int, int)
        (W, H) of both photos, px.
    seed : int
        With ``kind`` and ``index``, fixes everything random.

    Returns
    -------
    Pair
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    size = (int(size[0]), int(size[1]))
    rng = np.random.default_rng([seed, KINDS.index(kind), index])
    if kind == "mismatch":
        names = _MISMATCHES[index % len(_MISMATCHES)]
        if (index // len(_MISMATCHES)) % 2:
            names = names[::-1]
    else:
        sources = _KIND_SOURCES[kind]
        names = (sources[index % len(sources)],) * 2
    fixed_view = _fixed_view(names[0], size, rng)
    moving_view = fixed_view if kind != "mismatch" else _fixed_view(names[1], size, rng)
    fixed_print = _footprint(fixed_view, None, size)
    for _ in range(1000):
        homography, params = _random_homography(rng, size)
        if kind != "mismatch":
            if _overlap(homography, size) >= MIN_OVERLAP:
                break
        elif _disjoint(fixed_print, _footprint(moving_view, homography, size)) and (
            fixed_print.photo != moving_view.photo or _inside_scene(moving_view, homography, size)
        ):
            break
    else:
        raise RuntimeError(f"no {kind} camera found for {names}")
    truth: np.ndarray | SmoothWarp | None = homography
    if kind == "nonrigid":
        truth, params["warp_px"] = _random_warp(rng, size, homography)
    fixed, fixed_camera = _camera(_render(fixed_view, size, None), rng, relative=False)
    moving, moving_camera = _camera(_render(moving_view, size, truth), rng, relative=True)
    params.update({k: v for k, v in moving_camera.items() if k != "jpeg_quality" and k != "noise_dn"})
    params["noise_dn"] = (moving_camera["noise_dn"], fixed_camera["noise_dn"])
    params["jpeg_quality"] = (moving_camera["jpeg_quality"], fixed_camera["jpeg_quality"])
    return Pair(
        fixed=fixed,
        moving=moving,
        kind=kind,
        truth=None if kind == "mismatch" else truth,
        same_scene=kind != "mismatch",
        source=" | ".join(dict.fromkeys(names)),
        footprints=(fixed_print, _footprint(moving_view, homography, size)),
        params=params,
    )


def iter_pairs(n_per_kind: int, *, size: tuple[int, int] = (1600, 1200), seed: int = 0,
               kinds: tuple[str, ...] = KINDS) -> Iterator[Pair]:
    """Yield ``n_per_kind`` pairs of each kind, one at a time (a 12 MP pair takes 72 MB)."""
    for kind in kinds:
        for index in range(n_per_kind):
            yield make_pair(kind, index, size=size, seed=seed)


def make_pairs(n_per_kind: int, *, size: tuple[int, int] = (1600, 1200), seed: int = 0,
               kinds: tuple[str, ...] = KINDS) -> list[Pair]:
    """``n_per_kind`` pairs of each kind in :data:`KINDS` order; see :func:`make_pair`."""
    return list(iter_pairs(n_per_kind, size=size, seed=seed, kinds=kinds))
