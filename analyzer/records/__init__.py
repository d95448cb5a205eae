"""The clinic's records: patients, visits, photos and their analyses, in a database and an image store.

>>> from analyzer.records import Records, PhotoUpload
>>> records = Records.open()              # ANALYZER_DATA_DIR / ANALYZER_DATABASE_URL
>>> me = records.sign_in("j.doe", password)   # an Actor: every call says who acts
>>> p = records.create_patient(me, name="A. Patient", birth_year=1980, photo_consent=True)
>>> s = records.add_session(me, p.id, started_at=when, needle_depth_mm=1.0,
...                         photos=[PhotoUpload(jpeg_bytes, "front")])
>>> records.analyze(me, s.photos[0].id)   # cached by photo, baseline, algorithm version
>>> records.timeline(me, p.id, "front")

See :mod:`analyzer.records.repository` for the guarantees (nothing half-written,
erasure complete), :mod:`analyzer.records.access` for who may do what, and
README ("Records", "Accounts and privacy") for backup, restore and set-up.
"""

from analyzer.records.access import Actor, Forbidden, NotFound, Policy, RecordError, SignInRefused
from analyzer.records.export import export_patient, metrics_csv, name_slug
from analyzer.records.reanalyze import reanalyze
from analyzer.records.repository import VIEWS, PhotoRefused, PreparedPhoto, Records
from analyzer.records.settings import Settings, SettingsError
from analyzer.records.store import FolderStore, ImageStore, MissingBlob
from analyzer.records.views import (
    AnalysisRecord,
    AuditRecord,
    Invitation,
    InviteRecord,
    PatientRecord,
    PatientSummary,
    PhotoRecord,
    PhotoUpload,
    SessionRecord,
    Timeline,
    TimelinePoint,
    UserRecord,
)

__all__ = [
    "VIEWS", "Actor", "AnalysisRecord", "AuditRecord", "FolderStore", "Forbidden", "ImageStore",
    "Invitation", "InviteRecord", "MissingBlob", "NotFound", "PatientRecord", "PatientSummary",
    "PhotoRecord", "PhotoRefused", "PhotoUpload", "Policy", "PreparedPhoto", "RecordError", "Records",
    "SessionRecord", "Settings", "SettingsError", "SignInRefused", "Timeline", "TimelinePoint",
    "UserRecord", "export_patient", "metrics_csv", "name_slug", "reanalyze",
]
