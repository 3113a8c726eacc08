"""Mask secret-looking values before any text leaves the tool.

Log lines and command lines are quoted as evidence; a password a program printed
must not end up in a ticket. The patterns favour false positives: a masked
harmless value costs little, a leaked credential costs a lot.
"""

from __future__ import annotations

from podinit_diag.core.lazyre import lazy

MASK = "[REDACTED]"

_PATTERNS = (
    # Authorization schemes first: `Authorization: Bearer X` must mask X, not only "Bearer".
    lazy(r"(?i)(\bbearer\s+)([A-Za-z0-9._~+/=-]{8,})"),
    lazy(r"(?i)(\bbasic\s+)([A-Za-z0-9+/=]{8,})"),
    # key=value / key: value pairs whose key names a credential
    lazy(
        r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
        r"|client[_-]?secret|auth)[\w.-]*\"?\s*[=:]\s*\"?)([^\s\"',;&]+)"
    ),
    # credentials inside URLs: scheme://user:password@host
    lazy(r"([a-z][a-z0-9+.-]*://[^\s:/@]+:)([^\s@/]+)(@)"),
    lazy(r"()(\bAKIA[0-9A-Z]{16}\b)"),
    lazy(r"()(\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"),
    lazy(r"()(-----BEGIN [A-Z ]*PRIVATE KEY-----)"),
)


# Every pattern above needs one of these words (checked on the lower-cased text), so one
# search spares the clean majority of quoted values the seven substitutions. Short plain
# tokens (reasons such as CrashLoopBackOff, numbers) cannot hold any of them.
_TRIGGER = lazy(r"pass|pwd|secret|token|key|auth|bearer|basic|://|akia|eyj|-----begin")


def redact(text: str) -> str:
    if (len(text) < 16 and text.isalnum()) or not _TRIGGER.search(text.lower()):
        return text
    for pattern in _PATTERNS:
        if pattern.groups == 3:
            text = pattern.sub(lambda m: m.group(1) + MASK + m.group(3), text)
        else:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text
