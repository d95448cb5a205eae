"""Shared fixtures: test photos built from a real photograph that scikit-image ships.

``skimage.data.astronaut()`` is NASA's portrait of Eileen Collins (512 x 512 RGB,
public domain). Real skin, hair, fabric and a flag make codec errors realistic,
which synthetic gradients do not.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """(512, 512, 3) uint8 RGB, read-only so no test can spoil it for the others."""
    image = data.astronaut()
    image.setflags(write=False)
    return image


@pytest.fixture(scope="session")
def portrait(astronaut) -> np.ndarray:
    """(320, 256, 3) uint8 RGB face crop with a pure red block in its top-left corner.

    Not square and the block is not square either, so each of the 8 EXIF
    orientations gives a different array and "upright" can be checked by eye
    and by code. Small (shorter side = 256 = MIN_SIDE) so HEIC encodes fast.
    """
    image = astronaut[20:340, 128:384].copy()
    image[:40, :24] = (255, 0, 0)
    image.setflags(write=False)
    return image


@pytest.fixture(scope="session")
def jpeg_bytes(astronaut) -> bytes:
    """The astronaut as a camera-like JPEG: quality 95, 4:4:4 chroma, no metadata."""
    buf = io.BytesIO()
    Image.fromarray(astronaut).save(buf, "JPEG", quality=95, subsampling=0)
    return buf.getvalue()


@pytest.fixture(scope="session")
def png_bytes(astronaut) -> bytes:
    """The astronaut as an 8-bit RGB PNG (lossless)."""
    buf = io.BytesIO()
    Image.fromarray(astronaut).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def photo_file(tmp_path, jpeg_bytes):
    """A JPEG photo on disk, as a path."""
    path = tmp_path / "session-1-front.jpg"
    path.write_bytes(jpeg_bytes)
    return path
