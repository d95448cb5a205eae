"""What the repository hands out: frozen, picklable snapshots of rows (no database session attached).

The dashboard caches them freely; changing a record goes through
:class:`analyzer.records.Records` methods.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

__all__ = ["AnalysisRecord", "AuditRecord", "InviteRecord", "Invitation", "PatientRecord", "PatientSummary",
           "PhotoRecord", "PhotoUpload", "SessionRecord", "Timeline", "TimelinePoint", "UserRecord"]


@dataclass(frozen=True)
class PhotoUpload:
    """A photo as uploaded: its bytes (any format :func:`analyzer.load_image` reads) and its view.

    ``view``: ``"front"``, ``"left"``, ``"right"`` or ``"close-up: <name>"``
    (e.g. ``"close-up: left cheek"``). ``filename`` only names it in messages.
    """

    data: bytes = field(repr=False)
    view: str = "front"
    filename: str = ""


@dataclass(frozen=True)
class PatientRecord:
    id: int
    name: str
    birth_date: dt.date | None
    birth_year: int | None
    fitzpatrick: int | None  # skin phototype 1..6 (I..VI)
    contraindications: str
    photo_consent: bool
    consent_date: dt.date | None
    created_at: dt.datetime  # UTC
    clinic_id: int = 0


@dataclass(frozen=True)
class PatientSummary:
    """A line of the patient list."""

    id: int
    name: str
    birth_year: int | None
    sessions: int
    last_visit: dt.datetime | None


@dataclass(frozen=True)
class PhotoRecord:
    id: int
    session_id: int
    view: str
    sha256: str  # key of the stored PNG in the image store
    width: int
    height: int
    size_bytes: int
    source_format: str
    captured_at: dt.datetime | None  # from EXIF, clinic wall clock
    quality: dict  # analyzer.quality.QualityReport.to_dict()


@dataclass(frozen=True)
class SessionRecord:
    id: int
    patient_id: int
    started_at: dt.datetime  # clinic wall clock
    treatment: str
    device: str
    needle_depth_mm: float | None
    zones: tuple[str, ...]
    products: tuple[str, ...]
    notes: str
    glogau: int | None
    goodman_baron: int | None
    photos: tuple[PhotoRecord, ...] = ()

    def photo(self, view: str) -> PhotoRecord | None:
        """This session's photo of ``view``, if any."""
        return next((p for p in self.photos if p.view == view), None)


@dataclass(frozen=True)
class AnalysisRecord:
    """A cached measurement of ``photo_id`` against ``baseline_id`` (equal for the baseline itself)."""

    id: int
    photo_id: int
    baseline_id: int
    algorithm_version: str
    status: str  # "measured", "refused" or "no_skin"
    message: str
    values: dict = field(repr=False)  # the photo's metrics (None: not measurable); empty unless measured
    delta: dict = field(repr=False)  # change vs the baseline over the same skin; empty for the baseline
    significant: dict = field(repr=False)  # which deltas exceed the minimal detectable change
    result: dict = field(repr=False)  # the rest: alignment, light, tone, "before", how it was measured
    images: dict = field(repr=False)  # kind -> sha256 of images it drew: "aligned", "redness", ...
    seconds: float
    limits: dict = field(default_factory=dict, repr=False)  # the noise limit each delta was judged by
    light_change: dict = field(default_factory=dict, repr=False)  # its light vs the baseline's: Tone.change()

    @property
    def aligned_sha256(self) -> str | None:
        """The photo warped onto the baseline (follow-ups that aligned)."""
        return self.images.get("aligned")


@dataclass(frozen=True)
class TimelinePoint:
    """One session on a patient's timeline for one view.

    ``values``: the session's metrics on the timeline's scale -- the baseline's
    own, and for a later visit the baseline's plus ``delta`` (so a step between
    two visits is a difference of measured changes, never of two readings over
    different skin; the later photo's own reading over the skin both photos
    show is in its :class:`AnalysisRecord`); ``delta``: change vs the baseline,
    measured over the same skin; ``significant``: which deltas exceed their
    ``limits`` (the minimal detectable change, widened for a photo lit beyond
    the repeat photos or compressed again; None: not judged). Empty when the
    session has no photo of this view or it is not analysed (yet) -- ``status``
    says which.
    """

    session: SessionRecord
    photo_id: int | None
    status: str  # "measured", "refused", "no_skin", "pending" (not analysed yet) or "no_photo"
    message: str
    values: dict
    delta: dict
    significant: dict
    light: str = ""  # follow-ups: "reference", "backdrop", "card" or "camera" (Comparison.light)
    limits: dict = field(default_factory=dict)  # follow-ups: the noise limit each delta was judged by
    light_change: dict = field(default_factory=dict)  # follow-ups: light vs the baseline's, Tone.change()


@dataclass(frozen=True)
class Timeline:
    patient_id: int
    view: str
    baseline_id: int | None  # the baseline photo of this view
    points: tuple[TimelinePoint, ...]
    drawn_mm2: float | None = None  # measured over an outline: the skin inside it on the baseline, mm²


@dataclass(frozen=True)
class UserRecord:
    """An account (never its password hash). ``role``: admin, practitioner or patient."""

    id: int
    username: str
    role: str
    clinic_id: int
    patient_id: int | None
    disabled: bool
    created_at: dt.datetime  # UTC
    last_login_at: dt.datetime | None  # UTC


@dataclass(frozen=True)
class InviteRecord:
    """An invite, without its code. ``status``: "pending", "used", "revoked" or "expired"."""

    id: int
    role: str
    clinic_id: int
    patient_id: int | None
    created_at: dt.datetime  # UTC
    expires_at: dt.datetime  # UTC
    status: str


@dataclass(frozen=True)
class Invitation:
    """A new invite and its code: the only time the code is known (only its hash is stored)."""

    code: str = field(repr=False)
    invite: InviteRecord


@dataclass(frozen=True)
class AuditRecord:
    """One audit event: ``who`` is the username at the time of reading ("system:<task>" for the server)."""

    at: dt.datetime  # UTC
    who: str
    user_id: int | None
    clinic_id: int | None
    patient_id: int | None
    action: str
    detail: dict
