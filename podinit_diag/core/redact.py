"""Mask secret values before any text leaves the tool.

Log lines, messages and command lines are quoted as evidence, and saved bundles travel
to tickets: a password a program printed must end up in neither. Every pattern comes
from :data:`FORMATS`, a table of real secret formats (one entry per format: its name,
its pattern, what stays readable). The patterns favour false positives, since a masked
harmless value costs little and a leaked credential costs a lot, but keep ordinary
diagnostic text intact: reasons, image references, JSONPaths, Secret names, phrases
such as "invalid token" or "NOT_AUTHORIZED: ..." are quoted by the rules and must survive.

Token shapes follow the public scanners' rule files (gitleaks ``config/gitleaks.toml``,
noseyparker, GitHub's "Behind GitHub's new authentication token formats", 2021),
loosened where a prefix alone is distinctive enough.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from podinit_diag.core.lazyre import lazy

MASK = "[REDACTED]"


@dataclass(frozen=True)
class SecretFormat:
    """One kind of secret: the pattern finds it, its group ``s`` is masked, the rest of
    the match (what ``keeps`` describes) stays, so the reader sees what was there."""

    name: str
    pattern: re.Pattern[str]
    keeps: str
    # Lower-case literals, one of which any match holds: text holding none of any format's
    # is clean after one search. Empty for the base64 line, found by its own line test.
    triggers: tuple[str, ...]
    # Checked on each match before masking: rejects the look-alikes a pattern cannot.
    accept: Callable[[re.Match[str]], bool] | None = None


# The words a key or flag naming a credential holds (lower-cased, as triggers are).
_WORDS = ("pass", "pwd", "secret", "token", "key", "auth", "cred")


# Values that name a secret without holding one: `$(DB_PASSWORD)` (Kubernetes expands it),
# `${VAR}`, `$VAR`, templates, and the literals a flag or a field takes when unset.
_REFERENCE = lazy(
    r"(?i)\$\(\w+\)|\$\{\w+\}|(?-i:\$[A-Z_][A-Z0-9_]*)|\{\{[^{}]*\}\}"
    r"|true|false|null|none|nil|<none>|\**"
)


def _not_reference(m: re.Match[str]) -> bool:
    return not _REFERENCE.fullmatch(m.group("s").strip("\"'\\"))


def _tokenish(m: re.Match[str]) -> bool:
    """A word after "Bearer" or a bare "Authorization:" is a credential when it looks like
    one (a digit, a symbol, an inner capital, or length), not prose ("bearer authentication")."""
    s = m.group("s")
    return (
        len(s) >= 24
        or any(c.isdigit() or c in "+/=_~" for c in s)
        or any(c.isupper() for c in s[1:])
    )


def _header(m: re.Match[str]) -> bool:
    return m.group("scheme") is not None or _tokenish(m)


def _key_value(m: re.Match[str]) -> bool:
    if not _not_reference(m) or not m.group("s").lstrip("-=?+").rstrip("}"):
        return False  # a reference, or an empty shell default: `${DB_PASSWORD:-}`
    if m.group("sep") == ":" and not m.group("kq") and not m.group("vq"):
        # `name:tag` in an image reference (`registry/vault-token:1.2`) and `host:port`
        # (`auth:8080`) are no credentials.
        start = m.start()
        while start and (m.string[start - 1].isalnum() or m.string[start - 1] in "_.-"):
            start -= 1
        if (start and m.string[start - 1] == "/") or m.group("s").isdigit():
            return False
    return True


def _b64_line(m: re.Match[str]) -> bool:
    # A PEM body line seen alone (logs are quoted line by line): mixed case and digits,
    # unlike hex digests and words.
    s = m.group("s")
    return (
        any(c.isupper() for c in s) and any(c.islower() for c in s) and any(c.isdigit() for c in s)
    )


# Env entries (and HTTP headers, sysctls: any {"name", "value"}) whose name looks like a
# credential have their value masked whole, as the saved bundles always did.
_SECRET_NAME = lazy(r"(?i)pass|secret|token|key|credential|auth|pwd")


def _env_entry(m: re.Match[str]) -> bool:
    return bool(_SECRET_NAME.search(m.group("name")))


_PLAIN_USER = lazy(r"[a-z_][a-z_.-]{0,31}")


def _user_is_credential(m: re.Match[str]) -> bool:
    # `ssh://git@host` names an account; `https://ghp_x…@github.com` carries a token.
    return not _PLAIN_USER.fullmatch(m.group("s"))


# A key that names a credential, at the end of its word: `DB_PASS`, `dbPassword`,
# `client_secret`, `--token`, but not `secretKeyRef`, `secretName`, `NOT_AUTHORIZED`,
# `tokenExpirationSeconds`, `key` (a label key) or `bypass`. The match starts at the
# word, not at the start of the key: what precedes the word stays anyway.
_LONG = (
    "password", "passwd", "passphrase", "secret", "token", "credentials", "credential",
    *(f"{q}[_.-]?key" for q in (
        "api", "access", "secret", "private", "client", "master", "account", "signing",
        "encryption", "shared", "storage",
    )),
)  # fmt: skip
_SHORT = ("pass", "pwd", "auth", "creds")  # only as a word of their own: not `bypass`


def _after_first(words: Sequence[str], capital: bool = False) -> str:
    # `(?<=p)assword`: the first letter, already consumed, checked by a lookbehind.
    return "|".join(f"(?<={w[0].upper() if capital else w[0]}){w[1:]}" for w in words)


# The pattern consumes the word's first letter through a plain (case-sensitive) character
# class: the regex engine then skips, in C, every position that cannot start a word. A
# pattern case-insensitive from its first character gets no such skip and tries every
# position; that made this pass cost more than all the others together.
_FIRST = "".join(sorted({w[0] for w in (*_LONG, *_SHORT)}))
_KEY = (
    f"[{_FIRST}{_FIRST.upper()}](?:(?i:{_after_first(_LONG)}"
    f"|(?<![a-z0-9].)(?:{_after_first(_SHORT)}))"
    f"|(?<=[a-z0-9][{_FIRST.upper()}])(?:{_after_first(_SHORT, capital=True)}))"
)
# Flags whose value is a credential. `--key`, `--private-key`, `--tls-key`, `--client-key`
# and `--credentials` are left out: their value is a file path (openssl, curl, kubectl).
_FLAG = (
    r"--?(?:[a-z0-9]+[-_.])*(?:password|passwd|pass|pwd|passphrase|token|secret|api-?key"
    r"|access-?key|secret-?key|auth-?token|client-?secret)"
)
# Spans between a command and its flag are bounded ({0,500}): a line repeating `mysql`
# would otherwise be scanned to its end from each occurrence, in quadratic time.
_QUOTED_OR_WORD = r"\"[^\"\n]*\"|'[^'\n]*'|[^\s\"']+"
_JSON_STRING = r"(?:[^\"\\\n]|\\.)+"


def _f(
    name: str,
    pattern: str,
    keeps: str,
    triggers: tuple[str, ...],
    accept: Callable[[re.Match[str]], bool] | None = None,
    flags: int = 0,
) -> SecretFormat:
    return SecretFormat(name, lazy(pattern, flags), keeps, triggers, accept)


_I = re.IGNORECASE
_GITLAB = ("pat", "dt", "ptt", "rt", "cbt", "oas", "ft", "imt", "agent", "soat", "ffct")

FORMATS: tuple[SecretFormat, ...] = (
    # --- whole blocks and headers first: later formats would mask only part of them.
    _f(  # gitleaks private-key; the body up to END, or to the end of a truncated tail
        "pem-private-key",
        # s ends on a non-space: the lookahead then runs once per whitespace run, not once
        # per character of it (a key followed by a megabyte of blanks stays linear).
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----\s*"
        r"(?P<s>(?!-----END)\S(?:[\s\S]*?\S)?)"
        r"(?=\s*(?:-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|\Z))",
        "the BEGIN and END lines",
        ("-----begin",),
    ),
    _f(
        "base64-line",
        r"^[ \t]*(?P<s>[A-Za-z0-9+/]{40,}={0,2})[ \t]*\r?$",
        "the indentation",
        (),
        _b64_line,
        re.MULTILINE,
    ),
    _f(  # RFC 9110 credentials: `Authorization: <scheme> <token>`, and the API-key headers
        "authorization-header",
        r"(?<![\w-])(?:proxy-)?(?:authorization|x-api-key|api-key|x-auth-token|x-vault-token"
        r"|private-token|x-amz-security-token|x-goog-api-key)(?:\\?[\"'])?[ \t]*[:=][ \t]*"
        r"(?:\\?[\"'])?(?:(?P<scheme>bearer|basic|token|digest|negotiate|ntlm|apikey|api-key"
        r"|aws4-hmac-sha256|sso-key|key)[ \t]+)?(?P<s>[^\s\"',;]+)",
        "the header name and the scheme",
        ("authorization", "api-key", "-token"),
        _header,
        _I,
    ),
    _f(
        "cookie-header",
        r"(?<![\w-])(?:set-)?cookie(?:\\?[\"'])?[ \t]*:[ \t]*(?:\\?[\"'])?(?P<s>[^\r\n\"']+)",
        "the header name",
        ("cookie",),
        flags=_I,
    ),
    _f(
        "bearer-token",
        r"(?<![\w-])bearer[ \t]+(?P<s>[\w.~+/=-]{8,})",
        "the word Bearer",
        ("bearer",),
        _tokenish,
        _I,
    ),
    # --- credentials in URLs (RFC 3986 userinfo): connection strings, clone URLs
    _f(
        "url-password",
        r"://[^\s:/?#@\"'<>\[\]]*:(?P<s>[^\s/?#\"'<>]+)@",
        "the scheme, the user and the host",
        ("://",),
    ),
    _f(
        "url-user-token",
        r"://(?P<s>[^\s:/?#@\"'<>\[\]]+)@",
        "the scheme and the host (a plain user name such as git stays)",
        ("://",),
        _user_is_credential,
    ),
    _f(
        "curl-user",
        r"\bcurl\b[^\n;|&]{0,500}?[ \t](?:-u|--user)(?:[ \t]+|=)[\"']?[^\s:\"']*:(?P<s>[^\s\"']+)",
        "the command and the user",
        ("curl",),
    ),
    # --- tokens recognised by their prefix (gitleaks rule ids in brackets); the prefix
    # stays: it tells the reader which credential leaked and where to revoke it.
    _f(  # [aws-access-token]
        "aws-access-key-id",
        r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)(?P<s>[A-Z0-9]{16})\b",
        "the prefix",
        ("akia", "asia", "abia", "acca", "a3t"),
    ),
    _f(  # [jwt]: header.payload[.signature], each base64url
        "jwt",
        r"\b(?P<s>eyJ[\w-]{8,}\.[\w-]{8,}(?:\.[\w-]*)?)",
        "nothing",
        ("eyj",),
    ),
    _f(  # [github-pat] [github-oauth] [github-app-token] [github-refresh-token]
        "github-token",
        r"\bgh[pousr]_(?P<s>[A-Za-z0-9]{30,255})\b",
        "the prefix",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    _f(  # [github-fine-grained-pat]
        "github-fine-grained-pat",
        r"\bgithub_pat_(?P<s>\w{22,255})",
        "the prefix",
        ("github_pat_",),
    ),
    _f(  # [gitlab-pat] and GitLab's other prefixed tokens
        "gitlab-token",
        rf"\bgl(?:{'|'.join(_GITLAB)})-(?P<s>[\w.-]{{20,}})",
        "the prefix",
        tuple(f"gl{kind}-" for kind in _GITLAB),
    ),
    _f(  # [slack-bot-token] [slack-user-token] [slack-app-token] [slack-legacy-*]
        "slack-token",
        r"\b(?:xox[abposre]|xapp)-(?P<s>[A-Za-z0-9-]{10,})",
        "the prefix",
        ("xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-", "xapp-"),
    ),
    _f(  # [stripe-access-token]; whsec_ is Stripe's webhook signing secret
        "stripe-key",
        r"\b(?:(?:sk|rk)_(?:live|test|prod)|whsec)_(?P<s>[A-Za-z0-9]{10,255})",
        "the prefix",
        ("sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_", "whsec_"),
    ),
    _f(  # [gcp-api-key]
        "google-api-key",
        r"\bAIza(?P<s>[\w-]{30,})",
        "the prefix",
        ("aiza",),
    ),
    _f(  # [vault-service-token] [vault-batch-token], and recovery tokens
        "vault-token",
        r"\bhv[sbr]\.(?P<s>[\w-]{20,})",
        "the prefix",
        ("hvs.", "hvb.", "hvr."),
    ),
    _f(  # [npm-access-token]
        "npm-token",
        r"\bnpm_(?P<s>[A-Za-z0-9]{30,})",
        "the prefix",
        ("npm_",),
    ),
    _f(  # [openshift-user-token]
        "openshift-token",
        r"\bsha256~(?P<s>[\w-]{30,})",
        "the prefix",
        ("sha256~",),
    ),
    _f(
        "docker-hub-pat",
        r"\bdckr_pat_(?P<s>[\w-]{20,})",
        "the prefix",
        ("dckr_pat_",),
    ),
    _f(  # [openai-api-key] [anthropic-api-key]
        "llm-api-key",
        r"\bsk-(?:proj|svcacct|admin|ant)-(?P<s>[\w-]{20,})",
        "the prefix",
        ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-ant-"),
    ),
    # --- structured text: an env entry or a flag and its value quoted as JSON
    _f(  # {"name": "DB_PASSWORD", "value": "x"}, as a spec value is quoted in evidence
        "env-entry-json",
        r"\"name\"[ \t]*:[ \t]*\"(?P<name>[^\"\n]*)\"[ \t]*,[ \t]*\"value\"[ \t]*:[ \t]*"
        r"\"(?P<s>" + _JSON_STRING + ")",
        "the variable's name",
        _WORDS,
        _env_entry,
    ),
    _f(  # ["--password", "x"], a command quoted as JSON
        "flag-value-json",
        r"\"" + _FLAG + r"\"[ \t]*,[ \t]*\"(?P<s>" + _JSON_STRING + ")",
        "the flag",
        _WORDS,
        _not_reference,
        _I,
    ),
    # --- command lines
    _f(  # `mysql -uroot -pX`: -p takes its value attached (`-p X` names a database)
        "mysql-password",
        r"(?i:\b(?:mysql|mariadb)[\w-]*)\b[^\n;|&]{0,500}?(?<=[\s\"'])-p(?P<s>"
        + _QUOTED_OR_WORD
        + ")",
        "the command and -p",
        ("mysql", "mariadb"),
        _not_reference,
    ),
    _f(
        "sshpass-password",
        r"\bsshpass[ \t]+-p[ \t]*(?P<s>" + _QUOTED_OR_WORD + ")",
        "the command and -p",
        ("sshpass",),
        _not_reference,
    ),
    _f(
        "redis-cli-password",
        r"\bredis-cli\b[^\n;|&]{0,500}?[ \t]-a[ \t]+(?P<s>" + _QUOTED_OR_WORD + ")",
        "the command and -a",
        ("redis-cli",),
        _not_reference,
    ),
    _f(  # `--password X`, `--token X`, `-pass X` (openssl), in a shell line or a log
        "credential-flag",
        r"-(?<![\w-]-)" + _FLAG[1:] + r"[ \t]+(?P<s>\"[^\"\n]*\"|'[^'\n]*'|(?!-)[^\s\"']+)",
        "the flag",
        _WORDS,
        _not_reference,
        _I,
    ),
    # --- key=value, key: value, "key": "value", 'key': 'value', key => value; last, as
    # the catch-all: `password=x`, `DB_PASS=x`, `Password=x;` (ADO/JDBC), `?token=x&`.
    _f(
        "credential-key-value",
        _KEY + r"(?P<kq>\\?[\"'])?(?P<sep>[ \t]*(?:=>|:=|=|:(?!//))[ \t]*)"
        r"(?P<vq>\\?[\"'])?(?P<s>(?<=\\\")[^\"\\\n]+|(?<=\")" + _JSON_STRING + r"|(?<=')[^'\n]+"
        r"|(?<![\\\"'])(?![{\[])[^\s\"',;&]+)",
        "the key and the separator",
        _WORDS,
        _key_value,
    ),
)


def _substitution(fmt: SecretFormat) -> Callable[[re.Match[str]], str]:
    accept = fmt.accept

    def mask(m: re.Match[str]) -> str:
        whole = m.group()
        if accept is not None and not accept(m):
            return whole
        start, end = m.span("s")
        base = m.start()
        return whole[: start - base] + MASK + whole[end - base :]

    return mask


def _trie(words: Sequence[str]) -> str:
    """One alternation for many literals, factored on common prefixes: the regex engine
    tries branches in turn, so `a(?:kia|sia|uth)` costs a third of `akia|asia|auth`."""
    branches: dict[str, list[str]] = {}
    for w in words:
        branches.setdefault(w[:1], []).append(w[1:])
    alternatives = []
    for head, tails in sorted(branches.items()):
        if not head:
            continue
        rest = [t for t in tails if t]
        tail = _trie(rest) if rest else ""
        if rest and len(rest) < len(tails):  # the head alone is a word too
            tail = f"(?:{tail})?"
        alternatives.append(re.escape(head) + tail)
    return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"


_LITERALS = sorted({t for fmt in FORMATS for t in fmt.triggers})
_PREFILTER = lazy(_trie(_LITERALS))
_B64_LINE = lazy(r"^[ \t]*[a-z0-9+/]{40}", re.MULTILINE)
_PASSES = tuple((fmt.pattern, _substitution(fmt)) for fmt in FORMATS)
_PASSES_OF = {
    literal: frozenset(i for i, f in enumerate(FORMATS) if any(t in literal for t in f.triggers))
    for literal in _LITERALS
}
_BASE64_PASSES = frozenset(i for i, f in enumerate(FORMATS) if not f.triggers)


def redact(text: str) -> str:
    """``text`` with every secret of :data:`FORMATS` masked; any number of lines (a PEM
    private key is masked from its BEGIN line to its END line)."""
    if len(text) < 16 and text.isalnum():
        return text
    low = text.lower()
    hit = _PREFILTER.search(low)
    base64 = (_B64_LINE.search(low) if "\n" in low else _B64_LINE.match(low)) is not None
    if hit is None and not base64:
        return text
    chosen: set[int] = set(_BASE64_PASSES) if base64 else set()
    while hit is not None:
        # The literal found names the passes it enables (`authorization` those of `auth`
        # too); searching on from its second character finds any literal overlapping it.
        chosen |= _PASSES_OF[hit.group()]
        hit = _PREFILTER.search(low, hit.start() + 1)
    for i in sorted(chosen):  # in table order: headers before the key=value catch-all
        pattern, mask = _PASSES[i]
        text = pattern.sub(mask, text)
    return text


_PEM_BEGIN = lazy(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = lazy(r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")


def redact_lines(lines: Iterable[str]) -> list[str]:
    """Lines of a log with their secrets masked line for line: the body of a PEM private
    key, which only the lines around it identify, becomes one mask per line, so that line
    numbers quoted as evidence still point where they did."""
    out: list[str] = []
    inside = False
    for line in lines:
        if inside and _PEM_END.search(line) is None:
            out.append(MASK if line.strip() else line)
            continue
        out.append(redact(line))
        # a BEGIN line whose body goes on over the next lines (not closed on this one)
        inside = not inside and _PEM_BEGIN.search(line) is not None and not _PEM_END.search(line)
    return out


_ARG_FLAG = lazy(r"(?i)" + _FLAG)
_LOOKS_LIKE_FLAG = lazy(r"--?[A-Za-z][\w.-]*(?:=.*)?", re.DOTALL)
_MYSQL = lazy(r"(?:mysql|mariadb)[\w-]*")


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A container's command or args with credential values masked, element by element.

    Masked: the value after a flag whose name names a credential (`--password X`,
    `--db-token X`, `-pass X`) or after `=` (`--token=X`); `-pX` once a `mysql*` or
    `mariadb*` program was named (`-p X` is left: mysql reads X as a database); the
    argument after `sshpass -p` and `redis-cli -a`. `--key`, `--private-key`, `--tls-key`
    are not masked: their value is a file path (an inline PEM key is masked by
    :func:`redact` anyway). Then every element goes through :func:`redact`, which finds
    what a shell line holds (`sh -c "PGPASSWORD=x psql ..."`).
    """
    out: list[str] = []
    mask_next = False
    program: str | None = None
    for arg in argv:
        if not isinstance(arg, str):
            out.append(redact_document(arg))
            continue
        if mask_next:
            mask_next = False
            if not _LOOKS_LIKE_FLAG.fullmatch(arg):
                out.append(arg if _REFERENCE.fullmatch(arg) else MASK)
                continue
        name, eq, value = arg.partition("=")
        if _ARG_FLAG.fullmatch(name):
            if not eq:
                mask_next = True
                out.append(arg)
            else:
                out.append(arg if _REFERENCE.fullmatch(value) else f"{name}={MASK}")
            continue
        base = arg.rsplit("/", 1)[-1]
        if program in ("mysql", "mariadb") and arg.startswith("-p") and len(arg) > 2:
            value = arg[2:]
            out.append(arg if _REFERENCE.fullmatch(value.strip("\"'")) else "-p" + MASK)
            continue
        if (program == "sshpass" and arg == "-p") or (program == "redis-cli" and arg == "-a"):
            mask_next = True
        elif program == "sshpass" and arg.startswith("-p") and len(arg) > 2:
            out.append("-p" + MASK)
            continue
        if _MYSQL.fullmatch(base):
            program = "mysql"
        elif base in ("sshpass", "redis-cli"):
            program = base
        out.append(redact(arg))
    return out


_KEY_WORD = lazy(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_CREDENTIAL_WORDS = frozenset({
    "password", "passwd", "passphrase", "pwd", "pass", "secret", "token", "credential",
    "credentials", "creds", "apikey", "auth", "authorization", "cookie", "accesskey",
    "secretkey", "privatekey",
})  # fmt: skip
_KEY_QUALIFIERS = frozenset({
    "api", "access", "secret", "private", "client", "master", "account", "signing",
    "encryption", "shared", "storage", "subscription",
})  # fmt: skip
_CREDENTIAL_ENDINGS = ("password", "passwd", "passphrase", "secret", "token", "apikey")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_MAX_DEPTH = 100  # Kubernetes objects nest about 15 deep; last-applied doubles that
# About 3,900 digits: under the interpreter's 4,300-digit limit on int/str conversion,
# past which json.dumps raises.
_MAX_INT_BITS = 13_000


def names_credential(key: str) -> bool:
    """Whether a field named ``key`` holds a credential: its last word is one
    (`password`, `clientSecret`, `DB_PASS`, `X-Auth-Token`, `apiKey`), unlike a reference
    or a setting about one (`secretName`, `secretKeyRef`, `tokenExpirationSeconds`)."""
    words = [w.lower() for w in _KEY_WORD.findall(key)]
    if not words:
        return False
    last = words[-1]
    if last in _CREDENTIAL_WORDS or last.endswith(_CREDENTIAL_ENDINGS):
        return True
    return last == "key" and len(words) > 1 and words[-2] in _KEY_QUALIFIERS


def redact_document(value: Any) -> Any:
    """A deep copy of a JSON value (a pod, an event, a list, a related object, meta) with
    every string through :func:`redact` and credentials masked whole: values under keys
    that name one (:func:`names_credential`), env-style ``{"name", "value"}`` entries by
    their name, a Secret's ``data``/``stringData``, ``command``/``args`` through
    :func:`redact_argv`, the last-applied-configuration annotation parsed, redacted and
    re-serialised (masked whole when it does not parse). Never raises: a value it cannot
    walk (another type, nesting past 100 levels, an integer json cannot print) comes back
    as :data:`MASK`."""
    try:
        return _walk(value, 0, False)
    except (RecursionError, ValueError, TypeError):
        return MASK


def _walk(value: Any, depth: int, secret: bool) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return MASK if secret else redact(value)
    if isinstance(value, int):
        return MASK if secret or value.bit_length() > _MAX_INT_BITS else value
    if isinstance(value, float):
        return MASK if secret else value
    if depth >= _MAX_DEPTH:
        return MASK
    if isinstance(value, dict):
        return _walk_dict(value, depth + 1)
    if isinstance(value, list | tuple):
        return [_walk(v, depth + 1, secret) for v in value]
    return MASK


def _walk_dict(obj: dict[Any, Any], depth: int) -> dict[str, Any]:
    name = obj.get("name")
    env_like = isinstance(name, str) and bool(_SECRET_NAME.search(name))
    is_secret = obj.get("kind") == "Secret"
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = k if isinstance(k, str) else str(k)
        if key in ("command", "args") and isinstance(v, list):
            out[redact(key)] = (
                redact_argv(v) if all(isinstance(a, str) for a in v) else _walk(v, depth, False)
            )
        elif key == "annotations" and isinstance(v, dict):
            out[key] = _annotations(v, depth)
        elif is_secret and key in ("data", "stringData") and isinstance(v, dict):
            # The keys say which entries exist (rules check for missing ones); values go.
            out[key] = {redact(str(k2)): MASK for k2 in v}
        elif env_like and key == "value":
            out[key] = MASK
        else:
            out[redact(key)] = _walk(v, depth, names_credential(key))
    return out


def _annotations(annotations: dict[Any, Any], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in annotations.items():
        key = k if isinstance(k, str) else str(k)
        if key == LAST_APPLIED and isinstance(v, str):
            # kubectl apply stores the whole manifest here, env values included.
            try:
                manifest = _walk(json.loads(v), depth, False)
                text = json.dumps(manifest, separators=(",", ":"))
            except (ValueError, RecursionError, TypeError):
                out[key] = MASK
                continue
            out[key] = text + "\n" if v.endswith("\n") else text
        else:
            out[redact(key)] = _walk(v, depth, names_credential(key))
    return out
