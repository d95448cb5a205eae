"""Light that falls unevenly: a smooth neutral field between two aligned photos of the same skin.

A window beside the patient, a lamp moved to one side or the phone's own shadow darkens one
part of the face more than another. No tone curve (:class:`analyzer.color.Tone`) can undo
that: it maps every pixel alike. Left in, it read as skin change on the demo patient (a side
of the face at 0.85x the light: erythema -1.4 EI units, 18 times its noise limit, through a
tone curve bent by the shadowed surroundings; ITA -7 degrees on a close-up).

Light is neutral: it scales R, G and B alike, so in optical density it moves only the
*shading* amount of :func:`analyzer.color.unmix`, never haemoglobin or melanin. The field is
that amount's difference between the two photos, over blocks where both show the same
surface (skin and its surroundings), less what the tone curve explains, smoothed over a
tenth of the skin's size -- what a change of light leaves and a treatment does not: redness
and pigment move the other two amounts, texture lives at millimetres, and a tone curve
follows the colours, not the place. :func:`analyzer.compare` evens the later photo's light
by it when it is uneven beyond repeat photos (docs/metrics.md, "Light that falls unevenly").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from analyzer.color import Tone, block_means, block_shares, linear_to_srgb, srgb_to_linear, unmix

__all__ = ["LightField", "uneven_light"]

_BLOCKS_ACROSS = 48  # blocks over the longer side of the area compared
MIN_BLOCKS = 50  # blocks wholly on the skin needed to tell how unevenly the light fell
_SMOOTH = 0.1  # Gaussian sigma of the field, as a share of the skin's larger side
_CURVE_DEGREE = 5  # the tone curve's share of the neutral density: a polynomial of this degree
_RECOLOURED = 0.15  # OD of haemoglobin or melanin: a block whose colour changed more is no light's
_MOST = math.log(2)  # the field evens at most a stop either way
_ROBUST = 0.1  # OD: blocks further than this from the smoothed field are left out of it (changed surfaces)


@dataclass(frozen=True)
class LightField:
    """How much less light each place of a photo got than the baseline, in natural-log units.

    ``log_gain``: (rows, cols) float32 over the photo of ``shape`` (H, W), the log of the
    linear-light gain that evens the photo's light to the baseline's (0: same light; +0.69:
    the place got half the light). ``on_skin``: the blocks wholly on the skin compared.
    """

    log_gain: np.ndarray
    shape: tuple[int, int]
    on_skin: np.ndarray

    @property
    def stops(self) -> float:
        """How unevenly the light changed: the 95th minus the 5th percentile of the field over the skin.

        0 over fewer than :data:`MIN_BLOCKS` blocks (a small drawn area): too few to tell.
        """
        inside = self.log_gain[self.on_skin]
        if inside.size < MIN_BLOCKS:
            return 0.0
        return float(np.percentile(inside, 95) - np.percentile(inside, 5)) / math.log(2)

    def __add__(self, other: LightField) -> LightField:
        """Both fields at once (``other`` estimated on this one's grid, after this one was evened out)."""
        return LightField(self.log_gain + other.log_gain, self.shape, self.on_skin)

    def gain(self, box: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
        """The linear gain over `box` (x0, y0, x1, y1) of the photo, as a (size[0], size[1]) float32 array."""
        x0, y0, x1, y1 = box
        rows, cols = self.log_gain.shape
        ys = ((y0 + (np.arange(size[0], dtype=np.float32) + 0.5) * (y1 - y0) / size[0])
              * rows / self.shape[0] - 0.5)
        xs = ((x0 + (np.arange(size[1], dtype=np.float32) + 0.5) * (x1 - x0) / size[1])
              * cols / self.shape[1] - 0.5)
        return np.exp(self._at(*np.meshgrid(xs, ys)))

    def resized(self, size: tuple[int, int], to: tuple[int, int]) -> LightField:
        """The same field on the photo of `size` (H, W) it was read on, resized to `to` (H, W)."""
        return LightField(self.log_gain, (round(self.shape[0] * to[0] / size[0]),
                                          round(self.shape[1] * to[1] / size[1])), self.on_skin)

    def moved(self, homography: np.ndarray, shape: tuple[int, int]) -> LightField:
        """The same field on another photo of `shape`, whose pixels `homography` maps onto this one's."""
        rows, cols = self.log_gain.shape
        h, w = shape
        out_rows, out_cols = max(2, round(rows * h / self.shape[0])), max(2, round(cols * w / self.shape[1]))
        ys, xs = np.mgrid[0:out_rows, 0:out_cols].astype(np.float32)
        pts = np.stack([(xs + 0.5) * w / out_cols, (ys + 0.5) * h / out_rows], axis=-1).reshape(1, -1, 2)
        on_this = cv2.perspectiveTransform(pts.astype(np.float64), homography)[0].astype(np.float32)
        log = self._at((on_this[:, 0] * cols / self.shape[1] - 0.5).reshape(out_rows, out_cols),
                       (on_this[:, 1] * rows / self.shape[0] - 0.5).reshape(out_rows, out_cols))
        return LightField(log, (h, w), np.zeros(log.shape, bool))

    def _at(self, grid_x: np.ndarray, grid_y: np.ndarray) -> np.ndarray:
        """The log gain at fractional grid positions (block units, 0 at the first block's centre)."""
        return cv2.remap(self.log_gain, grid_x.astype(np.float32), grid_y.astype(np.float32),
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def evened(self, srgb: np.ndarray) -> np.ndarray:
        """`srgb` (H, W, 3) uint8, the photo this field is on, with its light evened; uint8."""
        h, w = srgb.shape[:2]
        out = np.empty_like(srgb)
        step = 512
        for r0 in range(0, h, step):  # in strips: a 12 MP photo's float copy would be 144 MB
            r1 = min(h, r0 + step)
            gain = self.gain((0, r0, w, r1), (r1 - r0, w))[..., None]
            lin = np.minimum(srgb_to_linear(srgb[r0:r1]) * gain, 1.0)
            out[r0:r1] = np.round(linear_to_srgb(lin) * 255).astype(np.uint8)
        return out


def uneven_light(moving: np.ndarray, fixed: np.ndarray, skin: np.ndarray, surroundings: np.ndarray,
                 tone: Tone | None = None) -> LightField:
    """The smooth neutral light field from `moving` (aligned onto `fixed`) to `fixed`.

    Per block, the neutral optical density the later photo lacks (the shading amount of
    :func:`~analyzer.color.unmix`; a gain per channel adds the same everywhere). A tone curve
    (a power, another phone's look) moves it too, as a function of the baseline's colour, at
    every scale; light that falls unevenly moves it at large scales only. So the tone curve's
    share -- a polynomial of degree 5 in each channel's optical density -- is fitted on the fine
    scales (what smoothing leaves, by least squares) and the field is the smoothed rest.
    Fitted on the comparison's tone curve instead, a shadow over the surroundings bends the
    curve and the field follows the bend (a side of the face at 0.85x its light read as 0.26
    stops for 0.17); with a power alone, other phones' looks read as up to 0.06 stops, 0.015
    with the polynomial.

    Parameters
    ----------
    moving, fixed : (H, W, 3) uint8 ndarray
        The later photo in the baseline's frame, and the baseline (sRGB).
    skin, surroundings : (H, W) bool ndarray
        Where both show the skin compared, and the reference surfaces around it (both: a
        place where both photos show the same surface).
    tone : Tone, optional
        A tone curve fitted from `moving` to `fixed` after a first evening: the field is then
        what is left after it, with no power taken from the fine scales.

    Returns
    -------
    LightField
        On `fixed`'s pixels, 0 at the skin's median (the tone curve keeps the overall level).
    """
    rows_px, cols_px = np.flatnonzero(skin.any(axis=1)), np.flatnonzero(skin.any(axis=0))
    if rows_px.size == 0:
        return LightField(np.zeros((2, 2), np.float32), fixed.shape[:2], np.zeros((2, 2), bool))
    # light's scale is the face's or the frame's, not a drawn area's (a 15 mm disc's own scale read
    # the skin's texture as light: repeat photos' noise limits over it rose up to 13-fold)
    side = max(rows_px[-1] - rows_px[0] + 1, cols_px[-1] - cols_px[0] + 1, max(fixed.shape[:2]) // 2)
    block = max(2, side // _BLOCKS_ACROSS)
    moved, moving_ok = block_means(moving, block)
    still, fixed_ok = block_means(fixed, block)
    rows, cols = still.shape[:2]
    on_skin = block_shares(skin, block) > 0.99
    usable = (on_skin | (block_shares(surroundings, block) > 0.99)) & moving_ok & fixed_ok
    log_still = np.log(np.maximum(still, 1e-6))
    if tone is not None:
        moved = tone.apply(moved)
    amounts = unmix(log_still - np.log(np.maximum(moved, 1e-6)))  # haemoglobin, melanin, shading
    lacking = amounts[..., 2]  # the neutral OD the later photo lacks
    if usable.any():  # light is neutral: where the colour changed (another top), the surface did
        tint = amounts[..., :2] - np.median(amounts[usable][:, :2], axis=0)  # less white balance's share
        usable &= np.abs(tint).max(axis=-1) < _RECOLOURED
    sigma = _SMOOTH * side / block

    def smooth(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
        num = cv2.GaussianBlur(values * weight, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        den = cv2.GaussianBlur(weight, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        return num / np.maximum(den, 1e-3)

    weight = usable.astype(np.float32)
    field = np.zeros_like(lacking)
    # the tone curve's share: a polynomial in each channel's OD, fitted on the fine scales
    terms = [] if tone is not None else [(-log_still[..., c]) ** k for c in range(3)
                                         for k in range(1, _CURVE_DEGREE + 1)]
    for _ in range(3):  # fitted, then again without the blocks far from it (a new top, a moved lock)
        rest = lacking
        if terms:
            fine = np.stack([(t - smooth(t, weight))[weight > 0] for t in terms], axis=1)
            target = (lacking - smooth(lacking, weight))[weight > 0]
            coef = np.linalg.lstsq(fine, target, rcond=None)[0] if len(target) > len(terms) else []
            rest = lacking - sum(c * t for c, t in zip(coef, terms, strict=False))
        field = smooth(rest, weight)
        weight = (usable & (np.abs(rest - field) < _ROBUST)).astype(np.float32)
    field -= np.median(field[on_skin]) if on_skin.any() else 0.0
    field = np.clip(field, -_MOST, _MOST)  # beyond a stop either way it is a shadow or glare, not light
    # over the partial last row and column of blocks too: the field on the whole photo
    full_rows, full_cols = math.ceil(fixed.shape[0] / block), math.ceil(fixed.shape[1] / block)
    pad = (0, full_rows - rows, 0, full_cols - cols)
    log_gain = cv2.copyMakeBorder(field.astype(np.float32), *pad, cv2.BORDER_REPLICATE)
    on_skin = cv2.copyMakeBorder(on_skin.astype(np.uint8), *pad, cv2.BORDER_CONSTANT, value=0).astype(bool)
    return LightField(log_gain, (full_rows * block, full_cols * block), on_skin)
