"""The photo intake of the records, under attack: random and damaged uploads, hostile file names.

What a clinic relies on: whatever bytes arrive as a "photo", saving a visit
either stores a clean photo or refuses with :class:`analyzer.InvalidImage`
(naming the file) and leaves the records as they were; it never crashes,
never hangs and never takes more memory than a full-size photo needs. A file's
name is only a label: it never becomes a path.
"""

from __future__ import annotations

import datetime as dt
import io
import resource
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from fuzzing import EDIT, damaged
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from analyzer import InvalidImage
from analyzer.records import PhotoRefused, PhotoUpload, Records, Settings

WHEN = dt.datetime(2026, 3, 2, 9, 30)
MEMORY_HEADROOM = 1536 * 2**20  # address space an upload may add (bytes); a 60 MP photo decodes in ~200 MB
SECONDS_PER_UPLOAD = 30  # a hang, not a slow machine: a 12 MP photo is checked in about 1 s
_FUZZ = settings(max_examples=120, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow])


def _seed_files() -> list[bytes]:
    from skimage import data

    face = data.astronaut()[:360, 40:520].copy()  # 480 x 360: past the intake's minimum size
    out = []
    for fmt, kw in (("JPEG", {"quality": 85}), ("PNG", {}), ("WEBP", {"quality": 80}), ("TIFF", {})):
        buf = io.BytesIO()
        Image.fromarray(face).save(buf, fmt, **kw)
        out.append(buf.getvalue())
    return out


SEEDS = _seed_files()
MAGIC = [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"RIFF\x00\x01\x00\x00WEBPVP8 ",
         b"\x00\x00\x00\x18ftypheic", b"GIF89a", b"BM"]


@pytest.fixture(scope="module")
def intake(tmp_path_factory):
    """Records with one consenting patient, and the admin who uploads (SQLite: the intake is the same)."""
    folder = tmp_path_factory.mktemp("intake")
    records = Records.open(Settings(folder, f"sqlite:///{folder / 'analyzer.sqlite3'}"))
    me = records.set_up(clinic_name="Fuzz clinic", username="admin", password="admin password 1")
    patient = records.create_patient(me, name="Fuzz Target", photo_consent=True)
    yield records, me, patient.id
    records.close()


def _address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


@contextmanager
def _bounded(seconds: int, headroom: int):
    """Run with at most ``headroom`` more bytes of address space and an alarm after ``seconds``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + headroom, hard))

    def _hung(signum, frame):
        raise TimeoutError(f"an upload took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _counts(records) -> tuple[int, int]:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session as DbSession

    from analyzer.records.models import Photo, Session

    with DbSession(records.engine) as s:
        visits = s.scalar(select(func.count()).select_from(Session))
        photos = s.scalar(select(func.count()).select_from(Photo))
    return visits, photos, len(list(records.store.keys()))


def _upload(intake, data: bytes, filename: str = "upload.jpg") -> bool:
    """Save a visit with ``data`` as its photo; True if stored, False if refused (records unchanged)."""
    records, me, patient_id = intake
    before = _counts(records)
    try:
        with _bounded(SECONDS_PER_UPLOAD, MEMORY_HEADROOM):
            records.add_session(me, patient_id, started_at=WHEN,
                                photos=[PhotoUpload(data, "front", filename)])
    except InvalidImage as err:  # the only refusal an upload may meet
        assert isinstance(err, PhotoRefused) and str(err).startswith(f"{filename}: ")
        assert _counts(records) == before
        return False
    visits, photos, _ = _counts(records)
    assert (visits, photos) == (before[0] + 1, before[1] + 1)
    return True


@_FUZZ
@given(head=st.sampled_from(MAGIC), tail=st.binary(max_size=4096))
def test_random_bytes_are_refused_as_invalid_images_only(intake, head, tail):
    assert not _upload(intake, head + tail)  # never a photo: refused, nothing stored


@_FUZZ
@given(seed=st.sampled_from(range(len(SEEDS))), edits=st.lists(EDIT, min_size=1, max_size=8),
       keep=st.one_of(st.none(), st.floats(0.0, 1.0)))
def test_damaged_photos_are_stored_clean_or_refused(intake, seed, edits, keep):
    _upload(intake, damaged(SEEDS[seed], edits, keep))


def test_the_seeds_themselves_are_stored(intake):
    assert all(_upload(intake, seed) for seed in SEEDS)


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = zlib.compress(b"\x00" * (1 + width * 3) * 4)  # a few rows; the rest would be zeros too
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("width", "height"), [(30_000, 30_000), (10_000, 8_000), (200_000, 100)])
def test_a_decompression_bomb_is_refused_within_the_memory_bound(intake, width, height):
    data = _png_claiming(width, height)
    assert len(data) < 1_000_000
    assert not _upload(intake, data, "bomb.png")


def test_file_names_are_labels_never_paths(intake, tmp_path):
    records, me, patient_id = intake
    hostile = ["../../../../tmp/owned.jpg", "/etc/passwd", "C:\\Windows\\x.jpg", "a\x00b.jpg", "ñ" * 300]
    good = SEEDS[0]
    for k, name in enumerate(hostile):
        image = np.asarray(Image.open(io.BytesIO(good))).copy()
        image[0, 0] = (k, k, k)  # a different photo each time
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, "PNG")
        assert _upload(intake, buf.getvalue(), name)
    assert not Path("/tmp/owned.jpg").exists()
    names = [p.name for p in records.store.root.rglob("*") if p.is_file()]
    assert names and all(len(n) == 64 and set(n) <= set("0123456789abcdef") for n in names)  # hashes only
    with pytest.raises(PhotoRefused, match="^ñ+: "):
        records.add_session(me, patient_id, started_at=WHEN,
                            photos=[PhotoUpload(b"junk", "front", "ñ" * 300)])


def test_streamlit_refuses_what_the_intake_would_refuse_before_our_code_runs():
    """The browser upload limit is the intake's, so an oversized file never reaches the server's memory."""
    import tomllib

    from analyzer.images import MAX_FILE_BYTES

    config = tomllib.loads((Path(__file__).parents[1] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 == MAX_FILE_BYTES
    assert config["server"]["address"] == "localhost" and config["server"]["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "type"  # no tracebacks with paths or data
