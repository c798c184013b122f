"""Physical names that fit a cloud's length limit and still say what they are."""

from __future__ import annotations

import hashlib


def fitted_name(
    *parts: str, max_length: int, digest_length: int = 8, salt: str = "", unique: bool = False
) -> str:
    """`parts` joined by '-'. When that is too long, or when the name must be `unique` beyond
    this stack (global namespaces), it is cut and ends in a stable digest of the full name
    and `salt` (which does not appear in the name)."""
    readable = "-".join(part for part in parts if part)
    if len(readable) <= max_length and not unique:
        return readable
    digest = hashlib.sha256(f"{salt}/{readable}".encode()).hexdigest()[:digest_length]
    return f"{readable[: max_length - digest_length - 1].rstrip('-')}-{digest}"
