"""Registration: bring a later photo onto the patient's baseline photo, or refuse.

Before/after numbers mean nothing unless the same skin is compared, so every
photo is resampled into its baseline's frame before it is measured. Photos of
one patient are taken weeks apart, by hand, at a slightly different distance,
angle, expression and lighting; close-ups of a cheek or a scar may show little
texture. The method, coarse to fine:

1. **Photometric invariance.** Both photos become local-contrast-normalised
   log-luminance images: exposure, white balance and tone-curve changes
   cancel, structure remains.
2. **Global candidates.** SIFT matches with a robust homography (MAGSAC++),
   and, for skin with too little texture for features, a Fourier-Mellin
   estimate of rotation, scale and shift from whole-image spectra
   (Reddy & Chatterji 1996, doi:10.1109/83.506761), plus the identity.
3. **Refinement.** Each candidate is refined by enhanced correlation
   coefficient maximisation (ECC, Evangelidis & Psarakis 2008,
   doi:10.1109/TPAMI.2008.113) over a homography, coarse to fine; the best
   correlation wins. A sub-pixel finish matches a grid of patches at up to
   2048 px (translation ECC each) and fits the homography to them by RANSAC.
   Where too few patches carry structure (smooth skin seen close up, whose
   detail is tens of pixels wide), a full-frame ECC at 400 px finishes
   instead, on both photos normalised in the fixed frame.
4. **Gentle dense refinement.** What a homography cannot model (expression,
   small pose changes) is taken up by an optical-flow residual (DIS,
   Kroeger et al. 2016) smoothed over about a tenth of the image and capped at
   a few pixels, so it can follow a face, never a spot that faded. Smooth
   photos get none unless they share fine detail (a flow there would follow
   noise, or take a change of light on smooth shading for motion).
5. **Refusal.** Too low a final correlation, too little overlap or an
   implausible transform gives ``ok=False`` with a reason: a wrong alignment
   shown as right is the worst outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from analyzer.images import check_rgb8

__all__ = ["Alignment", "align"]

_WORK_SIDE = 1024  # px: longest side for global estimation
_FINE_SIDE = 2048  # px: longest side for the finest refinement
_SMOOTH_SIDE = 400  # px: longest side for the finish on smooth photos (structure tens of px wide)
_MIN_SCORE = 0.25  # correlation below which photos are not the same skin (bench/registration.py)
_CONFIDENT_COARSE = 0.8  # coarse correlation above which feature matching is skipped
_MIN_OVERLAP = 0.3  # share of the baseline the moving photo must cover
_MAX_RESIDUAL_PX = 6.0  # cap on the dense residual, in baseline pixels
_MIN_DENSE_RMS_PX = 0.5  # smaller residuals are mostly flow noise on rigid pairs (measured up to 0.4 px)
_MIN_DENSE_GAIN = 0.002  # correlation a dense residual must add to be kept (flow noise adds ~0.003)


@dataclass(frozen=True, eq=False)
class Alignment:
    """How a moving photo maps onto a fixed (baseline) photo.

    Attributes
    ----------
    ok : bool
        False if the photos do not show the same scene, overlap too little, or
        the result is unreliable; `reason` then says why.
    score : float, 0..1
        Registration quality: correlation of the two photos' local structure
        after alignment (1 = identical structure).
    reason : str
        Empty when ok; otherwise a sentence a practitioner can act on.
    homography : (3, 3) float64 ndarray
        Global transform, moving-image pixel (x, y, 1) -> fixed-image pixel.
    residual : (h, w, 2) float32 ndarray or None
        Dense correction in fixed-image pixels, sampled on a grid of the fixed
        image reduced by `residual_step`: the fixed point p shows the moving
        point ``H^-1 (p + residual(p))``.
    warped : (H, W, 3) uint8 ndarray
        The moving photo resampled into the fixed frame (zeros outside `valid`).
    valid : (H, W) bool ndarray
        Fixed-frame pixels the moving photo covers.
    """

    ok: bool
    score: float
    reason: str
    homography: np.ndarray
    residual: np.ndarray | None
    residual_step: float
    warped: np.ndarray = field(repr=False)
    valid: np.ndarray = field(repr=False)

    def to_fixed(self, points: np.ndarray) -> np.ndarray:
        """Map moving-image points to fixed-image points, dense refinement included.

        Parameters
        ----------
        points : (N, 2) array_like of float
            Moving-image pixel coordinates x, y (pixel centres at integers).

        Returns
        -------
        (N, 2) float64 ndarray
            Fixed-image x, y.
        """
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        q = cv2.perspectiveTransform(pts[None], self.homography)[0]
        if self.residual is None:
            return q
        # Solve p + r(p) = q by fixed-point iteration: r is smooth and a few px at most.
        p = q.copy()
        for _ in range(6):
            p = q - _sample_field(self.residual, p / self.residual_step)
        return p

    def to_dict(self) -> dict:
        """JSON-ready summary (no pixels)."""
        return {
            "ok": self.ok,
            "score": round(float(self.score), 4),
            "reason": self.reason,
            "homography": np.round(self.homography, 8).tolist(),
            "dense_refinement": self.residual is not None,
            "max_residual_px": (round(float(np.abs(self.residual).max()), 3)
                                if self.residual is not None else 0.0),
        }


def align(moving: np.ndarray, fixed: np.ndarray, *, dense: bool = True) -> Alignment:
    """Register `moving` onto `fixed` (the baseline).

    Parameters
    ----------
    moving, fixed : (H, W, 3) uint8 ndarray
        RGB photos as from :func:`analyzer.load_image`; sizes may differ.
    dense : bool
        Add the gentle dense refinement after the global homography.

    Returns
    -------
    Alignment
        Always returned; check ``ok`` before trusting it.
    """
    check_rgb8(moving, "moving")
    check_rgb8(fixed, "fixed")
    fixed_gray = _luminance(fixed)
    moving_gray = _luminance(moving)

    # --- coarse: global candidates at working resolution -------------------------
    s_fix = min(1.0, _WORK_SIDE / max(fixed.shape[:2]))
    s_mov = min(1.0, _WORK_SIDE / max(moving.shape[:2]))
    f_work = _normalized(_resize(fixed_gray, s_fix), sigma=4.0)
    m_work = _normalized(_resize(moving_gray, s_mov), sigma=4.0)
    scale_in = np.diag([s_mov, s_mov, 1.0])  # moving px -> moving work px
    scale_out = np.diag([s_fix, s_fix, 1.0])

    coarse = 0.25
    f_c = _resize(f_work, coarse)
    m_c = _resize(m_work, coarse)
    sc = np.diag([coarse, coarse, 1.0])
    best_h, best_rho = None, -1.0

    def refine_coarse(h: np.ndarray) -> None:
        nonlocal best_h, best_rho
        if not _plausible(h, m_work.shape, f_work.shape):
            return
        h_c, rho = _ecc(m_c, f_c, sc @ h @ np.linalg.inv(sc), iterations=60)
        if h_c is not None and rho > best_rho:
            best_h, best_rho = np.linalg.inv(sc) @ h_c @ sc, rho

    # Cheap candidates first (work-moving -> work-fixed); features only when they
    # leave the match in doubt, as with large perspective or big crops.
    for h in [np.eye(3), *_fourier_mellin(m_work, f_work)]:
        refine_coarse(h)
    if best_rho < _CONFIDENT_COARSE:
        h_feat = _feature_homography(m_work, f_work, side=640)
        if h_feat is not None:
            refine_coarse(h_feat)

    if best_h is None:
        return _refused(moving, fixed, "the photos could not be matched at all: "
                        "check that they show the same person and view")

    # --- fine: refine coarse to fine up to the fine resolution ------------------------
    h_work = best_h
    for level, iterations in ((0.5, 30), (1.0, 15)):
        sl = np.diag([level, level, 1.0])
        h_l, _ = _ecc(_resize(m_work, level), _resize(f_work, level), sl @ h_work @ np.linalg.inv(sl),
                      iterations=iterations)
        if h_l is not None:
            h_work = np.linalg.inv(sl) @ h_l @ sl
    homography = np.linalg.inv(scale_out) @ h_work @ scale_in

    # sub-pixel finish on patches at up to _FINE_SIDE resolution; where too few
    # patches carry structure (smooth skin, sky), one full-frame pass at a coarse scale
    fine = min(1.0, _FINE_SIDE / max(fixed.shape[:2]))
    refined = _refine_patches(moving_gray, fixed_gray, homography, scale=fine)
    smooth = refined is None
    if smooth:
        refined = _refine_smooth(moving_gray, fixed_gray, homography, fine=fine)
    if refined is not None:
        homography = refined

    # --- checks --------------------------------------------------------------------
    h_fw = scale_out @ homography @ np.linalg.inv(scale_in)
    warped_work = cv2.warpPerspective(m_work, h_fw, f_work.shape[::-1], flags=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(np.ones_like(m_work, np.uint8), h_fw, f_work.shape[::-1],
                                flags=cv2.INTER_NEAREST).astype(bool)
    overlap = float(cover.mean())
    if smooth and overlap > 0:
        # Smooth photos: normalise the moving photo in the fixed frame, as the fixed one
        # (see _refine_smooth); normalised in its own frame, its filters differ by the zoom,
        # a mismatch the dense refinement would follow as if it were motion.
        m_gray_work = _resize(moving_gray, s_mov).astype(np.float32)
        h_fw = (_pixel_scale(fixed_gray.shape, f_work.shape) @ homography
                @ np.linalg.inv(_pixel_scale(moving_gray.shape, m_gray_work.shape)))

        def warp_work(residual: np.ndarray | None = None) -> np.ndarray:
            if residual is None:
                w = cv2.warpPerspective(m_gray_work, h_fw, f_work.shape[::-1], flags=cv2.INTER_LINEAR)
            else:
                w = _remap(m_gray_work, h_fw, residual)
            return _normalized(_filled(w, cover), sigma=4.0)
    else:
        def warp_work(residual: np.ndarray | None = None) -> np.ndarray:
            return warped_work if residual is None else _remap(m_work, h_fw, residual)

    warped_work = warp_work()
    score = _correlation(warped_work, f_work, cover, blur=2.0)

    residual, step = None, 1.0
    if dense and overlap > 0 and smooth:
        # A flow follows detail: where the photos share too little of it (detail-band
        # correlation under 0.5, i.e. less signal than noise), what it finds is noise, or
        # a change of light on smooth shading taken for motion.
        dense = _correlation(_detail(warped_work), _detail(f_work), cover, blur=0.0) > 0.5
    if dense and overlap > 0:
        residual_work = _dense_residual(warped_work, f_work, cover, cap=_MAX_RESIDUAL_PX * s_fix)
        if residual_work is not None:
            # refined only if it explains the photos better
            warped_dense = warp_work(residual_work)
            score_dense = _correlation(warped_dense, f_work, cover, blur=2.0)
            inner = cv2.erode(cover.astype(np.uint8), np.ones((31, 31), np.uint8)).astype(bool)
            rms_px = float(np.sqrt(np.mean(residual_work[inner] ** 2))) / s_fix if inner.any() else 0.0
            if score_dense > score + _MIN_DENSE_GAIN and rms_px > _MIN_DENSE_RMS_PX:
                residual, step, score = residual_work / s_fix, 1.0 / s_fix, score_dense

    reason = ""
    if not _plausible(homography, moving.shape[:2], fixed.shape[:2]):
        reason = "the alignment is implausible (extreme tilt or zoom); retake the photo facing the camera"
    elif overlap < _MIN_OVERLAP:
        reason = (f"the photos overlap too little ({overlap:.0%} of the baseline); "
                  "frame the same area as the baseline")
    elif score < _MIN_SCORE:
        reason = "the photos do not seem to show the same skin: check the patient and the view"

    warped, valid = _warp_full(moving, fixed.shape[:2], homography, residual)
    return Alignment(ok=not reason, score=float(np.clip(score, 0.0, 1.0)), reason=reason,
                     homography=homography, residual=residual, residual_step=step,
                     warped=warped, valid=valid)


# --- image preparation ---------------------------------------------------------------


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-6:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def _normalized(gray: np.ndarray, *, sigma: float) -> np.ndarray:
    """Local-contrast-normalised log luminance, float32, about zero mean and unit spread.

    The log turns exposure into an offset and the local mean removes it; dividing
    by the local spread cancels tone-curve (gamma) changes to first order.
    """
    g = np.log1p(gray.astype(np.float32))
    g = cv2.GaussianBlur(g, (0, 0), 0.7)  # JPEG and sensor noise
    d = g - _smooth(g, sigma * 4)
    spread = np.sqrt(_smooth(d * d, sigma * 4))
    floor = max(float(np.median(spread)) * 0.5, 1e-3)
    return d / np.maximum(spread, floor)


def _detail(image: np.ndarray) -> np.ndarray:
    """The finest structure a flow follows: difference of Gaussians, sigma 1 and 4 px."""
    return cv2.GaussianBlur(image, (0, 0), 1.0) - cv2.GaussianBlur(image, (0, 0), 4.0)


def _filled(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """`image` with pixels outside `known` replaced by a smooth extension of the known ones.

    So that a filter does not see a false edge where a warped photo ends, nor
    the other photo's content (which would inflate its correlation with it).
    """
    k = known.astype(np.float32)
    if k.all() or not k.any():
        return image
    den = _smooth(k, 16.0)
    ext = _smooth(image * k, 16.0) / np.maximum(den, 1e-3)
    ext = np.where(den > 1e-3, ext, float(image[known].mean()))
    return np.where(known, image, ext).astype(np.float32)


def _smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur for large sigma, computed on a reduced copy (same result to ~1%)."""
    factor = int(sigma // 3)
    if factor < 2:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    small = cv2.resize(image, (max(1, image.shape[1] // factor), max(1, image.shape[0] // factor)),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return cv2.resize(small, image.shape[1::-1], interpolation=cv2.INTER_LINEAR)


def _to_u8(image: np.ndarray) -> np.ndarray:
    return np.clip(image * 40.0 + 128.0, 0, 255).astype(np.uint8)


# --- global candidates -----------------------------------------------------------------


def _feature_homography(moving: np.ndarray, fixed: np.ndarray, *, side: int) -> np.ndarray | None:
    """SIFT + ratio test + MAGSAC++ homography (moving -> fixed, at their scale), or None.

    Features are found on copies whose longest side is at most `side` px.
    """
    sm = min(1.0, side / max(moving.shape))
    sf = min(1.0, side / max(fixed.shape))
    sift = cv2.SIFT_create(nfeatures=2000, contrastThreshold=0.01)
    km, dm = sift.detectAndCompute(_to_u8(_resize(moving, sm)), None)
    kf, df = sift.detectAndCompute(_to_u8(_resize(fixed, sf)), None)
    if dm is None or df is None or len(km) < 8 or len(kf) < 8:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(dm, df, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < 12:
        return None
    src = np.float32([km[m.queryIdx].pt for m in good]) / sm
    dst = np.float32([kf[m.trainIdx].pt for m in good]) / sf
    h, inliers = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, 2.0 / sf, maxIters=5000, confidence=0.999)
    if h is None or inliers is None or int(inliers.sum()) < 12:
        return None
    return h


def _fourier_mellin(moving: np.ndarray, fixed: np.ndarray) -> list[np.ndarray]:
    """Similarity candidates (work-moving -> work-fixed) from spectra: works on low texture."""
    side = 512
    f_sq = _square(fixed, side)
    m_sq = _square(moving, side)
    window = cv2.createHanningWindow((side, side), cv2.CV_32F)
    fm = _log_polar_spectrum(f_sq * window)
    mm = _log_polar_spectrum(m_sq * window)
    (dx, dy), _ = cv2.phaseCorrelate(mm, fm, window=cv2.createHanningWindow(fm.shape[::-1], cv2.CV_32F))
    n_angle, n_rad = fm.shape
    angle = dy * 360.0 / n_angle  # rows of the log-polar image are angle (half-turn periodic spectrum)
    log_base = np.log(side / 2.0) / n_rad
    scale = float(np.exp(dx * log_base))
    if not 0.5 < scale < 2.0:
        return []
    candidates = []
    for a in (angle, angle + 180.0):
        # rotation/scale about the image centres, then translation by phase correlation
        centre_f = np.array([fixed.shape[1] / 2, fixed.shape[0] / 2])
        centre_m = np.array([moving.shape[1] / 2, moving.shape[0] / 2])
        rot = cv2.getRotationMatrix2D((0.0, 0.0), a, scale)
        h = np.eye(3)
        h[:2, :2] = rot[:, :2]
        h[:2, 2] = centre_f - rot[:, :2] @ centre_m
        warped = cv2.warpPerspective(moving, h, fixed.shape[::-1], flags=cv2.INTER_LINEAR)
        (tx, ty), response = cv2.phaseCorrelate(warped.astype(np.float32), fixed.astype(np.float32),
                                                window=cv2.createHanningWindow(fixed.shape[::-1], cv2.CV_32F))
        h = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]) @ h
        candidates.append(h)
    return candidates


def _square(image: np.ndarray, side: int) -> np.ndarray:
    """Centre-pad to a square, then resize to side x side (keeps the aspect ratio)."""
    h, w = image.shape
    n = max(h, w)
    pad = np.zeros((n, n), np.float32)
    pad[(n - h) // 2:(n - h) // 2 + h, (n - w) // 2:(n - w) // 2 + w] = image
    return cv2.resize(pad, (side, side), interpolation=cv2.INTER_AREA)


def _log_polar_spectrum(image: np.ndarray) -> np.ndarray:
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(image))).astype(np.float32)
    # high-pass emphasis (Reddy & Chatterji, eq. 12) so the DC peak does not dominate
    h, w = spectrum.shape
    y = np.cos(np.pi * (np.arange(h) - h / 2) / h)[:, None]
    x = np.cos(np.pi * (np.arange(w) - w / 2) / w)[None, :]
    spectrum *= (1.0 - x * y) * (2.0 - x * y)
    spectrum = np.log1p(spectrum)
    centre = (w / 2.0, h / 2.0)
    return cv2.warpPolar(spectrum, (w // 2, h), centre, w / 2.0,
                         cv2.INTER_LINEAR | cv2.WARP_POLAR_LOG)


# --- refinement ----------------------------------------------------------------------


def _ecc(moving: np.ndarray, fixed: np.ndarray, h_init: np.ndarray, *, iterations: int,
         eps: float = 1e-4) -> tuple[np.ndarray | None, float]:
    """ECC homography refinement (moving -> fixed); returns (h, correlation) or (None, -1)."""
    warp = np.linalg.inv(h_init).astype(np.float32)  # ECC's warp maps template (fixed) -> input
    warp /= warp[2, 2]
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iterations, eps)
    try:
        rho, warp = cv2.findTransformECC(fixed, moving, warp, cv2.MOTION_HOMOGRAPHY, criteria, None, 1)
    except cv2.error:
        return None, -1.0
    h = np.linalg.inv(warp.astype(np.float64))
    return h / h[2, 2], float(rho)


def _refine_patches(moving_gray: np.ndarray, fixed_gray: np.ndarray, h: np.ndarray, *,
                    scale: float, grid: int = 6, size: int = 96) -> np.ndarray | None:
    """Sub-pixel finish: translation ECC on a grid of patches, then a least-squares homography.

    Each patch of the fixed photo (at `scale`, `size` px square) is matched with
    the moving photo resampled through `h`; where the patch has texture, its
    residual shift gives one correspondence. With at least 8 of them, a robust
    homography fit replaces `h`; with fewer, None (the photo is too smooth at
    this scale). Cheap where a full-image ECC at this resolution is not: only
    the patches are resampled.
    """
    rows, cols = fixed_gray.shape
    span = size / scale  # patch side in full-resolution pixels
    xs = np.linspace(span, cols - span, grid)
    ys = np.linspace(span, rows - span, grid)
    h_inv = np.linalg.inv(h)
    window = np.float32(cv2.createHanningWindow((size, size), cv2.CV_32F))
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-4)
    moving_pts, fixed_pts = [], []
    hm, wm = moving_gray.shape
    for cy in ys:
        for cx in xs:
            # patch pixel (u, v) <- full-res fixed point (cx, cy) + ((u, v) - size/2) / scale
            to_full = np.array([[1 / scale, 0, cx - span / 2], [0, 1 / scale, cy - span / 2], [0, 0, 1]])
            corners = cv2.perspectiveTransform(
                np.float64([[[0, 0], [size, 0], [size, size], [0, size]]]), h_inv @ to_full)[0]
            if (corners < 0).any() or (corners[:, 0] >= wm - 1).any() or (corners[:, 1] >= hm - 1).any():
                continue  # the moving photo does not cover this patch
            f_patch = cv2.warpPerspective(fixed_gray, to_full, (size, size),
                                          flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP)
            m_patch = cv2.warpPerspective(moving_gray, h_inv @ to_full, (size, size),
                                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
            f_patch = _patch_normalized(f_patch)
            m_patch = _patch_normalized(m_patch)
            if f_patch is None or m_patch is None:
                continue
            warp = np.eye(2, 3, dtype=np.float32)
            try:
                rho, warp = cv2.findTransformECC(f_patch * window, m_patch * window, warp,
                                                 cv2.MOTION_TRANSLATION, criteria, None, 1)
            except cv2.error:
                continue
            shift = warp[:, 2].astype(np.float64)
            if rho < 0.5 or np.abs(shift).max() > 2.0:
                continue
            centre = np.array([size / 2, size / 2])
            fixed_pts.append(to_full[:2, :2] @ centre + to_full[:2, 2])
            moving_pts.append(cv2.perspectiveTransform((centre + shift)[None, None], h_inv @ to_full)[0, 0])
    if len(fixed_pts) < 8:
        return None
    refined, inliers = cv2.findHomography(np.float64(moving_pts), np.float64(fixed_pts), cv2.RANSAC, 1.0)
    if refined is None or inliers.sum() < 8:
        return None
    return refined / refined[2, 2]


def _refine_smooth(moving_gray: np.ndarray, fixed_gray: np.ndarray, h: np.ndarray, *,
                   fine: float, side: int = _SMOOTH_SIDE, passes: int = 3) -> np.ndarray | None:
    """Sub-pixel finish for smooth photos: full-frame ECC in the fixed frame at a coarse scale.

    On skin with almost no fine detail (a close-up at high magnification) the
    structure lies at scales of tens of pixels, where patches see only noise.
    All of the frame is used instead, at `side` px, and the moving photo is
    first resampled through `h` into the fixed frame, so that both photos are
    filtered (local contrast normalisation) in the same frame: filtering each
    in its own frame, as the coarse stages do, changes the filter's size with
    the zoom between them, which biases the fit by a pixel or more on smooth
    content. ECC then estimates a near-identity correction over the covered
    area, minus a margin where the filters see the edge; a few passes re-warp
    and re-estimate. Returns None if ECC fails or the correction is implausibly
    large for a finish.
    """
    coarse = min(1.0, side / max(fixed_gray.shape))
    if coarse >= fine:
        return None
    moving_f = _resize(moving_gray.astype(np.float32), fine)
    fixed_f = _resize(fixed_gray.astype(np.float32), fine)
    fixed_c = _resize(fixed_f, coarse / fine)
    c_moving = _pixel_scale(moving_gray.shape, moving_f.shape)  # full px -> fine px
    c_fixed = _pixel_scale(fixed_gray.shape, fixed_f.shape)
    c_coarse = _pixel_scale(fixed_f.shape, fixed_c.shape)  # fine-fixed px -> coarse-fixed px
    f_norm = _normalized(fixed_c, sigma=2.0)
    size_f = fixed_f.shape[::-1]
    rows, cols = fixed_c.shape
    margin = 2 * 8 * 2 + 1  # two spreads of the normalisation window (sigma 8 px)
    corners = np.float64([[[0, 0], [cols, 0], [cols, rows], [0, rows]]])
    h_f = c_fixed @ h @ np.linalg.inv(c_moving)  # fine-moving px -> fine-fixed px
    total = np.eye(3)  # accumulated correction, coarse-fixed px
    for _ in range(passes):
        warped = cv2.warpPerspective(moving_f, h_f, size_f, flags=cv2.INTER_LINEAR)
        cover = cv2.warpPerspective(np.ones_like(moving_f), h_f, size_f, flags=cv2.INTER_NEAREST)
        warped = _resize(warped, coarse / fine)
        cover = _resize(cover, coarse / fine) > 0.999
        # no false edges where the moving photo ends; the margin left out of the fit keeps
        # the filled-in fixed photo's influence small (a smooth extension measured the same)
        warped = np.where(cover, warped, fixed_c)
        mask = cv2.erode(cover.astype(np.uint8), np.ones((margin, margin), np.uint8))
        if mask.mean() < _MIN_OVERLAP / 2:
            return None
        warp = np.eye(3, dtype=np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 1e-6)
        try:
            _, warp = cv2.findTransformECC(f_norm, _normalized(warped, sigma=2.0), warp,
                                           cv2.MOTION_HOMOGRAPHY, criteria, mask, 1)
        except cv2.error:
            return None
        step = np.linalg.inv(warp.astype(np.float64))  # warped (coarse) px -> corrected fixed px
        step /= step[2, 2]
        total = step @ total
        moved = cv2.perspectiveTransform(corners, total)[0] - corners[0]
        if np.abs(moved).max() > 4.0:  # coarse px: a finish, not a new alignment
            return None
        h_f = np.linalg.inv(c_coarse) @ step @ c_coarse @ h_f
        if np.abs(cv2.perspectiveTransform(corners, step)[0] - corners[0]).max() < 0.01:
            break
    refined = np.linalg.inv(c_fixed) @ h_f @ c_moving
    return refined / refined[2, 2]


def _pixel_scale(shape, resized_shape) -> np.ndarray:
    """3x3: pixel (x, y) of an image of `shape` -> pixel of its copy of `resized_shape`.

    Pixel centres at integers, areas aligned (as ``cv2.resize`` maps them).
    """
    sy, sx = resized_shape[0] / shape[0], resized_shape[1] / shape[1]
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])


def _patch_normalized(patch: np.ndarray) -> np.ndarray | None:
    p = np.log1p(patch.astype(np.float32))
    p -= cv2.GaussianBlur(p, (0, 0), 12.0)
    std = float(p.std())
    return p / std if std > 1e-3 else None


def _plausible(h: np.ndarray, moving_shape, fixed_shape) -> bool:
    """Scale within 0.5..2 and perspective distortion mild over the photo."""
    if not np.all(np.isfinite(h)):
        return False
    hm, wm = moving_shape[:2]
    corners = np.float64([[0, 0], [wm, 0], [wm, hm], [0, hm]])
    denom = h[2, 0] * corners[:, 0] + h[2, 1] * corners[:, 1] + h[2, 2]
    if np.any(denom <= 0.2) or np.any(denom > 5):
        return False
    det = np.linalg.det(h[:2, :2])
    return 0.25 < det < 4.0


def _correlation(a: np.ndarray, b: np.ndarray, mask: np.ndarray, *, blur: float) -> float:
    m = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if m.sum() < 100:
        return 0.0
    if blur > 0:
        a = cv2.GaussianBlur(a, (0, 0), blur)
        b = cv2.GaussianBlur(b, (0, 0), blur)
    a, b = a[m], b[m]
    a = a - a.mean()
    b = b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def _dense_residual(warped: np.ndarray, fixed: np.ndarray, cover: np.ndarray, *,
                    cap: float) -> np.ndarray | None:
    """Smooth optical-flow residual (work px), fixed frame: fixed p shows warped p + r(p).

    DIS optical flow, then normalised convolution (Knutsson & Westin 1993) weighted
    by each pixel's smaller structure-tensor eigenvalue, so flat skin, where flow
    is noise, borrows its motion from textured surroundings. The Gaussian spans
    5% of the photo's longer side: a face bending, never a spot fading.
    """
    margin = max(9, int(0.02 * max(fixed.shape)) | 1)
    weight = cv2.erode(cover.astype(np.uint8), np.ones((margin, margin), np.uint8)).astype(np.float32)
    if weight.sum() < 100:
        return None
    warped = np.where(cover, warped, fixed)  # no false edges where the moving photo ends
    gx = cv2.Sobel(fixed, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(fixed, cv2.CV_32F, 0, 1, ksize=3)
    jxx = cv2.GaussianBlur(gx * gx, (0, 0), 3.0)
    jyy = cv2.GaussianBlur(gy * gy, (0, 0), 3.0)
    jxy = cv2.GaussianBlur(gx * gy, (0, 0), 3.0)
    lam = 0.5 * (jxx + jyy) - np.sqrt(0.25 * (jxx - jyy) ** 2 + jxy * jxy)
    lam = np.maximum(lam, 0.0)
    weight *= lam / (lam + float(np.median(lam[weight > 0])) + 1e-9)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(_to_u8(fixed), _to_u8(warped), None)
    # trust flow only where it explains the photos: not where content differs
    rows, cols = fixed.shape
    gx_, gy_ = np.meshgrid(np.arange(cols, dtype=np.float32), np.arange(rows, dtype=np.float32))
    followed = cv2.remap(warped, gx_ + flow[..., 0], gy_ + flow[..., 1], cv2.INTER_LINEAR)
    misfit = cv2.GaussianBlur((followed - fixed) ** 2, (0, 0), 3.0)
    typical = float(np.median(misfit[weight > 0])) + 1e-6
    weight /= 1.0 + misfit / typical
    sigma = 0.05 * max(fixed.shape)
    w = _smooth(weight, sigma)
    w += 0.1 * float(w.mean()) + 1e-9  # where evidence is scarce, lean to no correction
    smooth = np.dstack([_smooth(flow[..., i] * weight, sigma) / w for i in range(2)])
    return np.clip(smooth, -cap, cap).astype(np.float32)


def _sample_field(field: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Bilinear sample of an (h, w, 2) field at (N, 2) grid coordinates x, y (clamped)."""
    h, w = field.shape[:2]
    x = np.clip(pts[:, 0], 0, w - 1)
    y = np.clip(pts[:, 1], 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(int), w - 2 if w > 1 else 0)
    y0 = np.minimum(np.floor(y).astype(int), h - 2 if h > 1 else 0)
    fx = (x - x0)[:, None]
    fy = (y - y0)[:, None]
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    return ((1 - fy) * ((1 - fx) * field[y0, x0] + fx * field[y0, x1])
            + fy * ((1 - fx) * field[y1, x0] + fx * field[y1, x1]))


def _inverse_map(h: np.ndarray, shape, residual: np.ndarray | None):
    """Fixed-frame sampling maps into the moving image: H^-1 (p + r(p)); r resized to `shape`."""
    rows, cols = shape
    xs, ys = np.meshgrid(np.arange(cols, dtype=np.float32), np.arange(rows, dtype=np.float32))
    if residual is not None:
        r = residual
        if r.shape[:2] != (rows, cols):
            r = cv2.resize(r, (cols, rows), interpolation=cv2.INTER_LINEAR)
        xs = xs + r[..., 0]
        ys = ys + r[..., 1]
    hi = np.linalg.inv(h)
    den = hi[2, 0] * xs + hi[2, 1] * ys + hi[2, 2]
    mx = (hi[0, 0] * xs + hi[0, 1] * ys + hi[0, 2]) / den
    my = (hi[1, 0] * xs + hi[1, 1] * ys + hi[1, 2]) / den
    return mx.astype(np.float32), my.astype(np.float32)


def _remap(moving: np.ndarray, h: np.ndarray, residual: np.ndarray) -> np.ndarray:
    mx, my = _inverse_map(h, residual.shape[:2], residual)
    return cv2.remap(moving, mx, my, cv2.INTER_LINEAR)


def _warp_full(moving: np.ndarray, shape, h: np.ndarray,
               residual: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = shape
    if residual is None:
        warped = cv2.warpPerspective(moving, h, (cols, rows), flags=cv2.INTER_LINEAR)
        valid = cv2.warpPerspective(np.full(moving.shape[:2], 255, np.uint8), h, (cols, rows),
                                    flags=cv2.INTER_NEAREST) > 0
        return warped, valid
    mx, my = _inverse_map(h, (rows, cols), residual)
    warped = cv2.remap(moving, mx, my, cv2.INTER_LINEAR)
    hm, wm = moving.shape[:2]
    valid = (mx >= 0) & (mx <= wm - 1) & (my >= 0) & (my <= hm - 1)
    return warped, valid


def _refused(moving: np.ndarray, fixed: np.ndarray, reason: str) -> Alignment:
    rows, cols = fixed.shape[:2]
    return Alignment(ok=False, score=0.0, reason=reason, homography=np.eye(3), residual=None,
                     residual_step=1.0, warped=np.zeros_like(fixed), valid=np.zeros((rows, cols), bool))
