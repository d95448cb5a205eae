"""Who is acting, and what they may do: the rules every repository function applies.

An :class:`Actor` is handed to every :class:`~analyzer.records.Records` call. It
comes from signing in (:meth:`Records.sign_in`, :meth:`Records.redeem_invite`,
:meth:`Records.set_up`), or is :meth:`Actor.system` for the command line's
maintenance tasks (which run with the server's own rights: whoever can run them
can read the data folder anyway).

Rules (:func:`may_see_patient`, :func:`may_change_patient`):

========================= =========================================================
admin                     everything of their clinic: patients, team, audit log
practitioner              their clinic's patients (not erasure, team or audit log)
patient                   their own record, read-only
system                    everything (command line: re-analysis, demo, invites)
========================= =========================================================

Passwords are hashed with argon2id (``argon2-cffi``, RFC 9106's low-memory
profile: 64 MiB, 3 passes, about 0.2 s here); invite codes and sign-in session
ids are random (``secrets``) and only their SHA-256 or the random id is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "ROLES", "Actor", "Forbidden", "NotFound", "Policy", "RecordError", "SignInRefused", "hash_password",
    "invite_code", "invite_code_hash", "may_change_patient", "may_see_patient", "needs_rehash",
    "password_problem", "session_id", "verify_password",
]

ROLES = ("admin", "practitioner", "patient")
_CLINIC_ROLES = ("admin", "practitioner")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_CODE_LENGTH = 16  # 80 bits
_HASHER = PasswordHasher()
# Verified when the username is unknown, so an unknown name costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


class RecordError(ValueError):
    """A request the records cannot take; ``str(err)`` says why, for the practitioner."""


class NotFound(RecordError, LookupError):
    """No such patient, session or photo -- or, said to staff, none of their clinic's (audited)."""


class Forbidden(LookupError):
    """The acting user may not see or change this; ``str(err)`` does not say whether it exists.

    A :class:`LookupError` like :class:`NotFound`, so a page that says "not found"
    says the same of what is not the user's. Every refusal is in the audit log.
    """


class SignInRefused(RecordError, PermissionError):
    """Sign-in, an invite or a signed-in session was refused; ``str(err)`` says why, for the user."""


@dataclass(frozen=True)
class Policy:
    """Sign-in limits (:class:`analyzer.records.Settings` reads them from the environment).

    Attributes
    ----------
    idle_minutes : float
        A signed-in session ends after this long without activity (default 30).
    max_session_hours : float
        ... and this long after signing in, whatever the activity (default 12: a working day).
    invite_days : float
        An invite expires this long after it was made (default 7).
    free_failures : int
        Failed sign-ins allowed for a username before it is locked (default 5).
    lockout_s : float
        First lock (default 30 s); it doubles with each further failure, up to ``max_lockout_s``.
    max_lockout_s : float
        Longest lock (default 900 s).
    """

    idle_minutes: float = 30.0
    max_session_hours: float = 12.0
    invite_days: float = 7.0
    free_failures: int = 5
    lockout_s: float = 30.0
    max_lockout_s: float = 900.0

    def lockout(self, failures: int) -> dt.timedelta | None:
        """How long sign-in is refused after ``failures`` failures in a row (None: not locked)."""
        extra = failures - self.free_failures
        if extra < 0:
            return None
        return dt.timedelta(seconds=min(self.lockout_s * 2.0 ** min(extra, 30), self.max_lockout_s))


@dataclass(frozen=True)
class Actor:
    """Who is acting: the signed-in user (and their sign-in session), or the system.

    Attributes
    ----------
    role : str
        "admin", "practitioner", "patient" or "system".
    user_id, clinic_id, patient_id : int or None
        ``patient_id`` only for a patient; ``clinic_id`` None only for the system.
    username : str
        For people; "system:<task>" for the system.
    session_id : str or None
        The sign-in session this actor acts in (checked on every call); None for the system.
    """

    role: str
    user_id: int | None
    clinic_id: int | None
    patient_id: int | None
    username: str
    session_id: str | None = None

    @classmethod
    def system(cls, task: str) -> Actor:
        """The server itself, running ``task`` (e.g. "reanalyze"): may do everything."""
        return cls("system", None, None, None, f"system:{task}")

    @property
    def is_system(self) -> bool:
        return self.role == "system"

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "system")

    @property
    def is_staff(self) -> bool:
        """An admin, practitioner or the system: may work on the clinic's patients."""
        return self.role in (*_CLINIC_ROLES, "system")

    def audit_detail(self) -> dict:
        """What the audit log keeps of a system actor (people are kept by ``user_id``)."""
        return {"by": self.username} if self.is_system else {}


def may_see_patient(actor: Actor, patient_id: int, clinic_id: int) -> bool:
    """Whether ``actor`` may read the record of patient ``patient_id`` of clinic ``clinic_id``."""
    if actor.is_system:
        return True
    if actor.role == "patient":
        return actor.patient_id == patient_id
    return actor.role in _CLINIC_ROLES and actor.clinic_id == clinic_id


def may_change_patient(actor: Actor, patient_id: int, clinic_id: int) -> bool:
    """Whether ``actor`` may add to or edit that record (patients read only)."""
    return actor.is_staff and may_see_patient(actor, patient_id, clinic_id)


def password_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` is not acceptable (None if it is): 10..256 characters, not the username."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return f"the password needs at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"the password can have at most {MAX_PASSWORD} characters"
    if username and password.casefold() == username.casefold():
        return "the password cannot be the username"
    if len(set(password)) < 4:
        return "the password needs more than three different characters"
    return None


def hash_password(password: str) -> str:
    """argon2id hash of ``password`` (PHC string, salt included)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; constant work when ``password_hash`` is None (unknown user)."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's (rehash at the next sign-in)."""
    return _HASHER.check_needs_rehash(password_hash)


def invite_code() -> str:
    """A new invite code: 16 Crockford base32 characters (80 bits) as XXXX-XXXX-XXXX-XXXX."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, _CODE_LENGTH, 4))


def invite_code_hash(code: str) -> str:
    """SHA-256 (hex) of a code as typed: case, spaces, dashes and O/I/L look-alikes forgiven."""
    clean = str(code).upper().translate(str.maketrans("OIL", "011", " -\t\n"))
    return hashlib.sha256(clean.encode()).hexdigest()


def session_id() -> str:
    """A new sign-in session id (256 random bits, hex); it never leaves the server."""
    return secrets.token_hex(32)
