"""One photo measured against its baseline, from stored bytes to what the records keep.

:func:`run` is pure (bytes in, an :class:`Outcome` out) and picklable, so the
archive-wide re-analysis can run it in worker processes while one process
writes the results.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analyzer.change_maps import change_maps
from analyzer.compare import NoSkin, analyze, compare
from analyzer.images import load_image, to_jpeg_bytes
from analyzer.skin import polygon_mask, regions

__all__ = ["Outcome", "area_key", "area_mask", "json_safe", "run", "version"]

#: An outline drawn on a baseline: ``[(x, y), ...]`` in its pixels (at least 3 points).
Outline = Sequence[Sequence[float]]


def version() -> str:
    """The algorithm version analyses are keyed by (:data:`analyzer.compare.ALGORITHM_VERSION`)."""
    # read at call time, so a new version (or a test's) takes effect; by module, because
    # ``analyzer.compare`` the attribute is the function
    return importlib.import_module("analyzer.compare").ALGORITHM_VERSION


@dataclass(frozen=True)
class Outcome:
    """What measuring one photo gave.

    Attributes
    ----------
    status : str
        ``"measured"``; ``"refused"`` (the photo does not align with the
        baseline); ``"no_skin"`` (too little skin to measure).
    message : str
        Why, in words for the practitioner, when not measured.
    result : dict
        JSON-ready. A baseline: ``{"metrics": {...}, "context": {...}}``. A
        follow-up: :meth:`analyzer.Comparison.to_dict` plus ``before_context``
        and ``after_context``. NaN (not measurable) is stored as None.
    images : dict
        What a follow-up that aligned draws, JPEG bytes (no metadata) by kind:
        ``"aligned"`` (the photo warped onto the baseline) and the change maps
        ``"redness"``, ``"pigmentation"``, ``"texture"`` (:mod:`analyzer.change_maps`).
    seconds : float
        Time taken.
    version : str
        The :func:`version` that measured it.
    area : str
        The :func:`area_key` of the outline it was measured over ("" for the
        whole detected skin).
    """

    status: str
    message: str
    result: dict
    images: dict[str, bytes]
    seconds: float
    version: str
    area: str = ""


def area_key(outline: Outline | None) -> str:
    """A short fingerprint of an outline (16 hex digits), "" for none: what analyses are keyed by."""
    if outline is None:
        return ""
    text = json.dumps([[round(float(x), 1), round(float(y), 1)] for x, y in outline])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def area_mask(outline: Outline, shape: tuple[int, int]) -> np.ndarray:
    """The (H, W) bool mask inside an outline of pixel coordinates (filled polygon, edges included)."""
    return polygon_mask(shape, outline)


def _skin_within(outline: Outline | None, image: np.ndarray, photo: bytes) -> np.ndarray | None:
    """The detected skin inside ``outline`` (an outline drawn round a cheek leaves out the eye, the
    lips, hair and clothes it takes in, as the whole skin does); None for no outline.

    ``image`` is ``photo`` decoded. Re-measuring a view over a new outline compares every photo
    with the same baseline, so its detected skin is kept for the next (the last two photos').
    """
    if outline is None:
        return None
    key = hashlib.sha256(photo).hexdigest()  # not the bytes themselves: a 60 MP photo's are 100 MB
    with _SKIN_LOCK:
        skin = _SKIN.get(key)
    if skin is None:
        skin = regions(image).mask
        skin.setflags(write=False)
        with _SKIN_LOCK:
            _SKIN[key] = skin
            while len(_SKIN) > 2:
                _SKIN.popitem(last=False)
    return area_mask(outline, image.shape[:2]) & skin


_SKIN: OrderedDict[str, np.ndarray] = OrderedDict()  # SHA-256 of photo bytes -> its skin (read-only)
_SKIN_LOCK = threading.Lock()


def run(photo: bytes, baseline: bytes | None, area: Outline | None = None) -> Outcome:
    """Measure ``photo`` (stored PNG bytes) alone (``baseline`` None: it is the baseline) or against one.

    ``area``: an outline on the baseline's pixels: the baseline's detected skin
    inside it is measured (as :func:`analyzer.compare`'s ``mask``), no face
    zones; None: the whole skin, with zones.
    """
    start, v, key = time.perf_counter(), version(), area_key(area)
    image = load_image(photo)
    try:
        if baseline is None:
            metrics = analyze(image, _skin_within(area, image, photo))
            result = {"metrics": metrics.to_dict(), "context": metrics.context()}
            return Outcome("measured", "", json_safe(result), {}, time.perf_counter() - start, v, key)
        before = load_image(baseline)
        c = compare(before, image, mask=_skin_within(area, before, baseline))
    except NoSkin as err:
        return Outcome("no_skin", str(err), {}, {}, time.perf_counter() - start, v, key)
    result = c.to_dict()
    result["before_context"] = c.before.context()
    if not c.alignment.ok:
        return Outcome("refused", c.alignment.reason, json_safe(result), {}, time.perf_counter() - start, v,
                       key)
    result["after_context"] = c.after.context()
    images = {"aligned": to_jpeg_bytes(c.alignment.warped, quality=90)}
    images |= {kind: to_jpeg_bytes(drawn, quality=88) for kind, drawn in change_maps(before, c).items()}
    return Outcome("measured", "", json_safe(result), images, time.perf_counter() - start, v, key)


def json_safe(value):
    """``value`` with NaN and infinities replaced by None and NumPy scalars by Python ones.

    JSON has no NaN (PostgreSQL refuses it); a metric that could not be
    measured is None in the records.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item"):  # NumPy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
