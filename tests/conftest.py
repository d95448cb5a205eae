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


# --- records: both databases --------------------------------------------------------

@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server for the whole run (tests/pgserver.py)."""
    from pgserver import PostgresServer

    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A new, empty database: a SQLite file, or a database on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'records.sqlite3'}"
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def records(database_url, tmp_path):
    """Empty clinic records on each database, with an image store in ``tmp_path / "data"``."""
    from analyzer.records import Records, Settings

    r = Records.open(Settings(tmp_path / "data", database_url))
    yield r
    r.close()


ADMIN_PASSWORD = "admin password 1"


@pytest.fixture
def me(records):
    """The clinic's admin, signed in (the first-run set-up of ``records``)."""
    return records.set_up(clinic_name="Test clinic", username="admin", password=ADMIN_PASSWORD)
