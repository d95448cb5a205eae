"""Colour: the one place that converts between sRGB and linear light.

Photos arrive sRGB-encoded (``load_image`` converts any embedded profile to
sRGB); measurement of light -- optical density, colour difference, illuminant
correction -- needs linear RGB. The transfer function is IEC 61966-2-1's.
Illuminant normalisation joins this module with the skin metrics.
"""

from __future__ import annotations

import numpy as np

__all__ = ["linear_to_srgb", "srgb_to_linear"]

_LUT = None


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    """sRGB-encoded values to linear light.

    Parameters
    ----------
    image : ndarray
        uint8 (0..255) or float (0..1) sRGB values, any shape.

    Returns
    -------
    ndarray of float32, 0..1, same shape
    """
    global _LUT
    if image.dtype == np.uint8:
        if _LUT is None:
            _LUT = _decode(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)
        return _LUT[image]
    return _decode(np.asarray(image, dtype=np.float32)).astype(np.float32)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light (float, clipped to 0..1) to sRGB-encoded float32 values 0..1."""
    v = np.clip(np.asarray(linear, dtype=np.float32), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055).astype(np.float32)


def _decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
