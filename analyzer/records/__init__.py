"""The clinic's records: patients, visits, photos and their analyses, in a database and an image store.

>>> from analyzer.records import Records, PhotoUpload
>>> records = Records.open()              # ANALYZER_DATA_DIR / ANALYZER_DATABASE_URL
>>> p = records.create_patient(name="A. Patient", birth_year=1980, photo_consent=True)
>>> s = records.add_session(p.id, started_at=when, needle_depth_mm=1.0,
...                         photos=[PhotoUpload(jpeg_bytes, "front")])
>>> records.analyze(s.photos[0].id)       # cached by photo, baseline, algorithm version
>>> records.timeline(p.id, "front")

See :mod:`analyzer.records.repository` for the guarantees (nothing half-written,
erasure complete) and README ("Records") for backup and restore.
"""

from analyzer.records.export import export_patient, metrics_csv
from analyzer.records.reanalyze import reanalyze
from analyzer.records.repository import VIEWS, NotFound, PreparedPhoto, RecordError, Records
from analyzer.records.settings import Settings
from analyzer.records.store import FolderStore, ImageStore, MissingBlob
from analyzer.records.views import (
    AnalysisRecord,
    PatientRecord,
    PatientSummary,
    PhotoRecord,
    PhotoUpload,
    SessionRecord,
    Timeline,
    TimelinePoint,
)

__all__ = [
    "VIEWS", "AnalysisRecord", "FolderStore", "ImageStore", "MissingBlob", "NotFound", "PatientRecord",
    "PatientSummary", "PhotoRecord", "PhotoUpload", "PreparedPhoto", "RecordError", "Records",
    "SessionRecord", "Settings", "Timeline", "TimelinePoint", "export_patient", "metrics_csv", "reanalyze",
]
