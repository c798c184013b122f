"""Physical names that must be unique beyond one stack (globally, per cloud) or fit a cloud's
length limit, yet stay readable."""

from __future__ import annotations

import hashlib
import re


def unique_alnum_name(*parts: str, max_length: int, digest_length: int = 6) -> str:
    """Lowercase letters and digits only: the readable parts, cut to fit, plus a short hash.

    The hash is of all parts in full, so two stacks whose readable prefixes collide after
    cutting still get different names, and the same stack always gets the same one.
    (Azure storage accounts: 3-24, container registries: 5-50, both global.)
    """
    readable = re.sub(r"[^a-z0-9]", "", "".join(parts).lower())
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()[:digest_length]
    return readable[: max_length - digest_length] + digest


def fitted_name(
    *parts: str, max_length: int, digest_length: int = 8, salt: str = "", unique: bool = False
) -> str:
    """`parts` joined by '-'. When that is too long, or when the name must be `unique` beyond
    this stack (global namespaces such as S3), it is cut and ends in a stable digest of the
    full name and `salt` (which does not appear in the name). (IAM roles: 64, S3 buckets: 63.)
    """
    readable = "-".join(part for part in parts if part)
    if len(readable) <= max_length and not unique:
        return readable
    digest = hashlib.sha256(f"{salt}/{readable}".encode()).hexdigest()[:digest_length]
    return f"{readable[: max_length - digest_length - 1].rstrip('-')}-{digest}"
