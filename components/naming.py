"""Physical names that must be unique beyond one stack (globally, per cloud) yet stay readable."""

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
