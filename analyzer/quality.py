"""Capture quality: is this photo fit to compare, and if not, what should the practitioner do?

Checked on every upload, before anything is stored or measured:

* **sharpness**: the blur effect of Crété-Roffet et al. (2007, "The blur effect:
  perception and estimation with a new no-reference perceptual blur metric",
  doi:10.1117/12.702790; ``skimage.measure.blur_effect``): 0 sharp .. 1 blurred.
  Judged against the baseline when there is one (the same camera and skin should
  be as sharp), otherwise against an absolute limit;
* **exposure**: share of clipped highlights and of crushed shadows, and the
  median brightness; against the baseline, how much less light the face (or,
  without one, the photo) got: more than a stop less is said, since a darker
  photo's fewer code values read as rougher skin (demo front view, at 1.5 stops
  less: roughness +1.2 minimal detectable changes);
* **compression**: the JPEG quality the photo was last saved at, read from its pixels
  (:func:`analyzer.compression.jpeg_quality`): below the quality the noise limits
  were measured at (85), as a messaging app or e-mail saves a photo it sends,
  fine texture is not comparable (demo repeat photos saved again at 70: roughness
  up to 4.3 minimal detectable changes);
* **colour**: a photo with next to no colour anywhere (black and white, a camera's
  filter, a greyscale scan) cannot show redness or pigmentation, which are read from
  colour: its 90th percentile of CIELAB chroma, under 4 (the demo photos: 25 to 28;
  a grey wall's JPEG noise: 2; a black-and-white photo: 0);
* **colour cast**: the colour of the brightest unclipped pixels -- specular
  highlights and white surfaces reflect the light source's colour;
* **face**: found or not -- by the face-landmark model (:mod:`analyzer.landmarks`)
  when installed, else scikit-image's LBP frontal-face cascade -- and its
  size, place and head pose (turn, nod) against the baseline's, in degrees
  the practitioner can act on ("turn the patient 10 degrees to their right").

Each problem comes with a message a practitioner can act on.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage import data as _skdata
from skimage.feature import Cascade
from skimage.measure import blur_effect

from analyzer import landmarks
from analyzer.color import srgb_to_linear
from analyzer.compression import MIN_QUALITY_MEASURED, jpeg_quality
from analyzer.images import check_rgb8

__all__ = ["Face", "QualityIssue", "QualityReport", "assess", "detect_face"]

_SIDE = 1024  # px: photos are judged at this longest side, so limits hold at any resolution
_MAX_BLUR = 0.72  # blur effect above which any photo is too soft (demo photos: 0.58..0.64)
_MAX_BLUR_INCREASE = 0.03  # vs baseline (demo sessions differ by <= 0.012; a 2.5 px blur adds 0.05)
_MAX_CLIPPED = 0.05  # share of pixels at pure white
_MAX_CRUSHED = 0.20  # share of pixels at black
_DARK_MEDIAN, _BRIGHT_MEDIAN = 50, 235  # median luminance, 0..255
_MAX_DARKER_STOPS = 1.0  # less light than the baseline's, in stops (texture moves < 0.6 MDC at 1 stop)
_MIN_COLOUR = 4.0  # 90th percentile of CIELAB chroma below this: no colour (demo photos 25..28, grey wall 2)
_MAX_CAST = 14.0  # chroma (CIELAB a*, b*) of the highlights' colour
_MAX_CAST_CHANGE = 8.0  # vs baseline
_MAX_TURN_DEG = 5.0  # yaw or pitch vs baseline; the mesh's pose repeats within ~0.5 degrees
_MAX_ABS_TURN_DEG = 15.0  # yaw without a baseline: more is not a frontal photo


@dataclass(frozen=True)
class QualityIssue:
    """One problem with a capture: a stable `code` for software, a `message` for people."""

    code: str  # "blurred", "dark", "overexposed", "compressed", "no_colour", "colour_cast", "no_face",
    #            "face_size", "face_position", "head_turned", "head_tilted"
    message: str


@dataclass(frozen=True)
class Face:
    """A detected frontal face: box in pixels of the assessed photo, and head pose when known.

    ``yaw_deg`` > 0: the patient has turned to their own left; ``pitch_deg`` > 0:
    chin up (see :class:`analyzer.landmarks.FaceLandmarks`). None when only the
    face-box detector was available.
    """

    x: float
    y: float
    width: float
    height: float
    yaw_deg: float | None = None
    pitch_deg: float | None = None

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.width / 2, self.y + self.height / 2)


@dataclass(frozen=True)
class QualityReport:
    """What :func:`assess` found; ``ok`` when there are no issues."""

    issues: tuple[QualityIssue, ...]
    blur: float  # 0 sharp .. 1 blurred
    clipped_share: float  # 0..1
    crushed_share: float  # 0..1
    median_luminance: float  # 0..255
    highlight_cast: tuple[float, float]  # CIELAB a*, b* of the highlights
    face: Face | None
    shape: tuple[int, int] = (0, 0)  # (height, width) of the assessed photo, px
    face_luminance: float | None = None  # median luminance inside the face's box, 0..255; None: no face
    jpeg_quality: int | None = None  # 1..100 it was last saved at; None: no sign of it below ~95
    colour: float | None = None  # 90th percentile of CIELAB chroma (camera's white balance); None: not read

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "issues": [{"code": i.code, "message": i.message} for i in self.issues],
            "blur": round(self.blur, 4),
            "clipped_share": round(self.clipped_share, 4),
            "crushed_share": round(self.crushed_share, 4),
            "median_luminance": round(self.median_luminance, 1),
            "face_luminance": None if self.face_luminance is None else round(self.face_luminance, 1),
            "jpeg_quality": self.jpeg_quality,
            "colour": None if self.colour is None else round(self.colour, 2),
            "highlight_cast": [round(v, 2) for v in self.highlight_cast],
            "height": int(self.shape[0]),
            "width": int(self.shape[1]),
            "face": None if self.face is None else {
                "x": round(self.face.x, 1), "y": round(self.face.y, 1), "width": round(self.face.width, 1),
                "height": round(self.face.height, 1),
                "yaw_deg": None if self.face.yaw_deg is None else round(self.face.yaw_deg, 1),
                "pitch_deg": None if self.face.pitch_deg is None else round(self.face.pitch_deg, 1)},
        }

    @classmethod
    def from_dict(cls, d: dict) -> QualityReport:
        """The report back from :meth:`to_dict` (as stored with a photo's record)."""
        face = d.get("face")
        return cls(
            issues=tuple(QualityIssue(i["code"], i["message"]) for i in d["issues"]),
            blur=d["blur"], clipped_share=d["clipped_share"], crushed_share=d["crushed_share"],
            median_luminance=d["median_luminance"], highlight_cast=tuple(d["highlight_cast"]),
            face=None if face is None else Face(**face),
            shape=(d.get("height", 0), d.get("width", 0)), face_luminance=d.get("face_luminance"),
            jpeg_quality=d.get("jpeg_quality"), colour=d.get("colour"),
        )


def assess(img: np.ndarray, baseline: np.ndarray | QualityReport | None = None) -> QualityReport:
    """Judge a photo's capture quality, alone or against the patient's baseline photo.

    Parameters
    ----------
    img : (H, W, 3) uint8 ndarray
        RGB photo, as from :func:`analyzer.load_image`.
    baseline : (H, W, 3) uint8 ndarray or QualityReport, optional
        The baseline photo of the same view, or its report (as stored with its
        record: saves measuring it again); enables the comparisons (sharper
        than before? same framing? same light?).

    Returns
    -------
    QualityReport
    """
    current = _measure(img)
    issues = list(_absolute_issues(current))
    if isinstance(baseline, QualityReport):
        base = {k: getattr(baseline, k) for k in current}
    else:
        base = None if baseline is None else _measure(baseline)
    if base is not None:
        issues.extend(_relative_issues(current, base))
    issues.extend(_pose_issues(current, base))
    return QualityReport(issues=tuple(issues), **current)


def detect_face(img: np.ndarray) -> tuple[float, float, float, float] | None:
    """The largest frontal face's box (x, y, width, height) in `img`'s pixels, or None.

    `img` is an (H, W, 3) uint8 RGB photo. Faces narrower than a fifth of the
    photo's shorter side are not reported (on close-ups they are false alarms).
    """
    check_rgb8(img)
    return _face_box(*_small(img))


def _face_box(small: np.ndarray, scale: float) -> tuple[float, float, float, float] | None:
    face = _detect_face(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
    return None if face is None else tuple(v / scale for v in face)


def _small(img: np.ndarray) -> tuple[np.ndarray, float]:
    scale = min(1.0, _SIDE / max(img.shape[:2]))
    small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else img
    return small, scale


def _measure(img: np.ndarray) -> dict:
    check_rgb8(img)
    small, scale = _small(img)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    face = _face(img, small, scale)
    return {
        "shape": tuple(int(v) for v in img.shape[:2]),
        "blur": float(blur_effect(gray)),
        "clipped_share": float((small.max(axis=2) >= 250).mean()),
        "crushed_share": float((small.max(axis=2) <= 5).mean()),
        "median_luminance": float(np.median(gray)),
        "highlight_cast": _highlight_cast(small),
        "colour": _colour(small),
        "face": face,
        "face_luminance": _face_luminance(gray, face, scale),
        "jpeg_quality": jpeg_quality(img),
    }


def _face_luminance(gray: np.ndarray, face: Face | None, scale: float) -> float | None:
    """Median of `gray` (0..255, the photo at `scale`) inside the face's box, or None without a face."""
    if face is None:
        return None
    x0, y0 = max(int(face.x * scale), 0), max(int(face.y * scale), 0)
    inside = gray[y0:int((face.y + face.height) * scale) + 1, x0:int((face.x + face.width) * scale) + 1]
    return float(np.median(inside)) if inside.size else None


def _stops_darker(m: dict, base: dict) -> float:
    """How much less light than the baseline's `m` got, in stops (negative: more), from the medians.

    The face's when both photos have one (a new backdrop does not count), else the whole photo's;
    8-bit sRGB medians are taken back to linear light first.
    """
    key = "face_luminance" if m.get("face_luminance") and base.get("face_luminance") else "median_luminance"
    now, then = (float(srgb_to_linear(np.float64(max(v[key], 1.0) / 255))) for v in (m, base))
    return float(np.log2(then / now))


def _face(img: np.ndarray, small: np.ndarray, scale: float) -> Face | None:
    if landmarks.model_available():
        found = landmarks.find_face(img)
        return None if found is None else Face(*found.box(), yaw_deg=found.yaw_deg, pitch_deg=found.pitch_deg)
    box = _face_box(small, scale)
    return None if box is None else Face(*box)


def _colour(rgb: np.ndarray) -> float:
    """90th percentile of CIELAB chroma (C*, 0..~130) over `rgb` (uint8 sRGB), on every 4th pixel.

    Skin, backdrops and clothing leave a colour photo well above :data:`_MIN_COLOUR`; a
    photo with equal R, G and B everywhere reads 0.
    """
    sample = np.ascontiguousarray(rgb[::4, ::4]).astype(np.float32) / 255
    chroma = cv2.cvtColor(sample, cv2.COLOR_RGB2LAB)[..., 1:]
    return float(np.percentile(np.hypot(chroma[..., 0], chroma[..., 1]), 90))


def _highlight_cast(rgb: np.ndarray) -> tuple[float, float]:
    """CIELAB a*, b* of the brightest 2% of unclipped, not strongly coloured pixels.

    Highlights on skin and white or grey surfaces reflect the light source's
    colour; strongly saturated surfaces (an orange top, a red lip) do not.
    """
    rgb_f = rgb.astype(np.float32)
    top, bottom = rgb_f.max(axis=2), rgb_f.min(axis=2)
    saturation = (top - bottom) / np.maximum(top, 1.0)
    luminance = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    usable = (top < 250) & (saturation < 0.5)
    if usable.sum() < 100:
        return (0.0, 0.0)
    limit = np.percentile(luminance[usable], 98)
    sel = usable & (luminance >= limit)
    mean = rgb_f[sel].mean(axis=0).reshape(1, 1, 3) / 255.0
    lab = cv2.cvtColor(mean, cv2.COLOR_RGB2Lab)[0, 0]
    return (float(lab[1]), float(lab[2]))


_cascade: Cascade | None = None


def _detect_face(gray: np.ndarray) -> tuple[float, float, float, float] | None:
    """Largest frontal face (x, y, w, h) in `gray`'s pixels, or None.

    Only faces at least a fifth of the shorter side count: a portrait framing.
    Smaller detections are mostly false alarms on close-ups of skin.
    """
    global _cascade
    if _cascade is None:
        _cascade = Cascade(_skdata.lbp_frontal_face_cascade_filename())
    scale = min(1.0, 480 / max(gray.shape))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    side = min(small.shape)
    found = _cascade.detect_multi_scale(small.astype(np.float32) / 255.0, scale_factor=1.1, step_ratio=1,
                                        min_size=(side // 5, side // 5), max_size=(side, side))
    if not found:
        return None
    best = max(found, key=lambda d: d["width"] * d["height"])
    return tuple(float(v) / scale for v in (best["c"], best["r"], best["width"], best["height"]))


def _absolute_issues(m: dict):
    if m["blur"] > _MAX_BLUR:
        yield QualityIssue("blurred", "The photo is blurred: hold the phone steadier (rest your elbows) "
                           "and tap the skin to focus before taking it.")
    if m["clipped_share"] > _MAX_CLIPPED or m["median_luminance"] > _BRIGHT_MEDIAN:
        yield QualityIssue("overexposed", f"The photo is overexposed ({m['clipped_share']:.0%} pure white): "
                           "dim the light or move it back, or lower the exposure on the phone.")
    if m["crushed_share"] > _MAX_CRUSHED or m["median_luminance"] < _DARK_MEDIAN:
        yield QualityIssue("dark", "The photo is too dark: add light in front of the patient "
                           "or raise the exposure on the phone.")
    if m["jpeg_quality"] is not None and m["jpeg_quality"] < MIN_QUALITY_MEASURED:
        yield QualityIssue("compressed", f"The photo was compressed to JPEG quality {m['jpeg_quality']} "
                           "(a phone's camera saves at 90 or more), as a messaging app or e-mail does when "
                           "it sends one: fine lines, pores and roughness cannot be compared on it. Upload "
                           "the photo as the phone took it (sent as a file or document, or by cable).")
    if m["colour"] < _MIN_COLOUR:
        yield QualityIssue("no_colour", "The photo has no colour (black and white, or a camera filter): "
                           "redness and pigmentation are read from the skin's colour. Switch off the "
                           "camera's filter or black-and-white mode and take it in colour.")
        return  # no colour: no cast to name either
    a, b = m["highlight_cast"]
    if np.hypot(a, b) > _MAX_CAST:
        yield QualityIssue("colour_cast", f"The light is strongly {_hue_word(a, b)}: use the clinic's usual "
                           "daylight lamp and switch off other lights.")


def _pose_issues(m: dict, base: dict | None):
    face, ref = m["face"], (base or {}).get("face")
    if face is None or face.yaw_deg is None:
        return
    if ref is not None and ref.yaw_deg is not None:
        turn, nod = face.yaw_deg - ref.yaw_deg, face.pitch_deg - ref.pitch_deg
        what = "than in the baseline"
    elif base is None and abs(face.yaw_deg) > _MAX_ABS_TURN_DEG:
        turn, nod, what = face.yaw_deg, 0.0, "from the camera"
    else:
        return
    if abs(turn) > (_MAX_TURN_DEG if ref is not None else _MAX_ABS_TURN_DEG):
        own, back = ("left", "right") if turn > 0 else ("right", "left")
        yield QualityIssue("head_turned", f"The head is turned {abs(turn):.0f} degrees further to the "
                           f"patient's {own} {what}: ask the patient to turn {abs(turn):.0f} degrees "
                           f"to their {back}.")
    if ref is not None and abs(nod) > _MAX_TURN_DEG:
        tilt, fix = ("up", "lower") if nod > 0 else ("down", "raise")
        yield QualityIssue("head_tilted", f"The chin is {abs(nod):.0f} degrees further {tilt} than in the "
                           f"baseline: ask the patient to {fix} the chin a little.")


def _relative_issues(m: dict, base: dict):
    darker = _stops_darker(m, base)
    if darker > _MAX_DARKER_STOPS and m["median_luminance"] >= _DARK_MEDIAN:
        yield QualityIssue("dark", f"The photo is {darker:.1f} stops darker than the baseline (the skin got "
                           f"{2 ** -darker:.0%} of the light): use the baseline's lamp and distance, or "
                           "raise the exposure on the phone, so fine texture is not lost in the dark.")
    if m["blur"] > base["blur"] + _MAX_BLUR_INCREASE and m["blur"] <= _MAX_BLUR:
        yield QualityIssue("blurred", "The photo is softer than the baseline: hold the phone steadier "
                           "and tap the skin to focus before taking it.")
    da = m["highlight_cast"][0] - base["highlight_cast"][0]
    db = m["highlight_cast"][1] - base["highlight_cast"][1]
    if np.hypot(da, db) > _MAX_CAST_CHANGE and np.hypot(*m["highlight_cast"]) <= _MAX_CAST:
        yield QualityIssue("colour_cast", f"The light is more {_hue_word(da, db)} than at the baseline: "
                           "use the same lamp and switch off other lights.")
    if base["face"] is not None and m["face"] is None:
        yield QualityIssue("no_face", "No face found, but the baseline shows one: have the patient face "
                           "the camera, as in the baseline, with hair off the face.")
    elif base["face"] is not None and m["face"] is not None:
        # compare in units of each photo's own size, so resolution does not matter
        size = (m["face"].width / m["shape"][1]) / (base["face"].width / base["shape"][1])
        if not 0.8 <= size <= 1.25:  # the detector's box sizes vary by ~10% on one face
            change, looks = ("closer", "smaller") if size < 1 else ("further away", "larger")
            yield QualityIssue("face_size", f"The face is {abs(1 - size):.0%} {looks} than in the baseline: "
                               f"move the phone {change}, to the baseline's distance.")
        cx = m["face"].center[0] / m["shape"][1] - base["face"].center[0] / base["shape"][1]
        cy = m["face"].center[1] / m["shape"][0] - base["face"].center[1] / base["shape"][0]
        if max(abs(cx), abs(cy)) > 0.12:
            where = ("left" if cx < 0 else "right") if abs(cx) >= abs(cy) else ("high" if cy < 0 else "low")
            yield QualityIssue("face_position", f"The face sits too far {where} in the frame: "
                               "centre it as in the baseline.")


def _hue_word(a: float, b: float) -> str:
    angle = np.degrees(np.arctan2(b, a)) % 360
    if angle < 45 or angle >= 330:
        return "magenta"
    if angle < 135:
        return "yellow-orange (warm)"
    if angle < 225:
        return "green"
    return "blue (cool)"
