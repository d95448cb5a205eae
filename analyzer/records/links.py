"""Patient-view links: an unguessable, per-patient token the practitioner hands to the patient.

``<patient id>.<HMAC-SHA256 of the id under the clinic's secret key>`` (128 bits
shown). The key is made on first use in the data folder (``secret_key``,
readable only by its owner); deleting it revokes every link at once. Accounts
with passwords and expiring invitations are the access issue's work; until then
a link shows one patient's own progress and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

__all__ = ["patient_from_token", "patient_token", "secret_key"]

_KEY_FILE = "secret_key"


def secret_key(data_dir: Path) -> bytes:
    """The clinic's link-signing key (32 random bytes), created with mode 0600 on first use."""
    path = Path(data_dir) / _KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return bytes.fromhex(path.read_text().strip())
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
        return key


def patient_token(patient_id: int, key: bytes) -> str:
    """The link token that opens ``patient_id``'s own progress view."""
    return f"{int(patient_id)}.{_mac(int(patient_id), key)}"


def patient_from_token(token: str, key: bytes) -> int | None:
    """The patient a token opens, or None if it is malformed or forged (constant-time check)."""
    head, _, mac = str(token).partition(".")
    if not head.isdigit() or len(head) > 12 or not mac:
        return None
    patient_id = int(head)
    return patient_id if hmac.compare_digest(mac, _mac(patient_id, key)) else None


def _mac(patient_id: int, key: bytes) -> str:
    return hmac.new(key, f"patient-view:{patient_id}".encode(), hashlib.sha256).hexdigest()[:32]
