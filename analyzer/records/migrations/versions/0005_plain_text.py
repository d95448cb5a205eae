"""Plain text: names and notes stored before it are rewritten as new ones are stored

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

New names and notes are composed (NFC) and lose control characters and explicit
direction controls as they are saved (``analyzer.records.text.plain``); rows saved
before are rewritten the same way, and each patient's search key with them, so a
name stored decomposed ("Zoe" + U+0308) is found by "Zoë" as a new one is. Text
that would be left empty keeps what it had. There is nothing to undo: downgrading
leaves the text as it now is.
"""

import sqlalchemy as sa
from alembic import op

from analyzer.records.text import plain

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# table -> (its one-line text columns, its multi-line ones)
_COLUMNS = {"clinics": (("name",), ()), "patients": (("name",), ("contraindications",)),
            "sessions": (("treatment", "device"), ("notes",))}


def upgrade() -> None:
    conn = op.get_bind()
    for table, (lines, texts) in _COLUMNS.items():
        columns = [*lines, *texts]
        rows = conn.execute(sa.text(f"SELECT id, {', '.join(columns)} FROM {table}")).mappings().all()
        for row in rows:
            new = {c: plain(row[c]) for c in lines} | {c: plain(row[c], multiline=True) for c in texts}
            new = {c: value for c, value in new.items() if row[c] is not None and value and value != row[c]}
            if table == "patients" and "name" in new:
                new["name_key"] = new["name"].casefold()  # as Records' _name_key
            if new:
                sets = ", ".join(f"{c} = :{c}" for c in new)
                conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE id = :id"), {**new, "id": row["id"]})


def downgrade() -> None:
    pass  # the text stays as upgrade() left it: what it dropped was invisible
