"""Damaged files for fuzz tests: hypothesis strategies for byte edits, and applying them."""

from __future__ import annotations

from hypothesis import strategies as st

#: One edit: (operation, position, byte). Positions fall in the header often, anywhere sometimes.
EDIT = st.tuples(
    st.sampled_from(["flip", "set", "insert", "delete"]),
    st.one_of(st.integers(0, 1023), st.integers(0, 2**24)),
    st.integers(0, 255),
)


def damaged(data: bytes, edits, keep: float | None) -> bytes:
    """``data`` with ``edits`` (from :data:`EDIT`) applied, then cut to ``keep`` of its length (None: all)."""
    out = bytearray(data)
    for op, position, value in edits:
        i = position % len(out)
        if op == "flip":
            out[i] ^= 1 << (value % 8)
        elif op == "set":
            out[i] = value
        elif op == "insert":
            out.insert(i, value)
        elif len(out) > 1:
            del out[i]
    if keep is not None:
        out = out[: int(len(out) * keep)]
    return bytes(out)
