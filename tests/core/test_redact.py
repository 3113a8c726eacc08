"""Redaction: every secret format of the table caught (and by its own entry), the near
misses a diagnosis quotes left intact, commands and whole documents walked.

Secret values in these tests are made up; each holds "Zq7" so a leak is easy to grep.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from podinit_diag.core.redact import (
    FORMATS,
    LAST_APPLIED,
    MASK,
    names_credential,
    redact,
    redact_argv,
    redact_document,
)

from ..conftest import ROOT

GH = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zZq7" + "cD4fG6"  # 36 after the prefix
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEAzq7Zq7Xbq4s0Yh0pC9gqBv3Yd2mN1s2a3b4c5d6e7f8g9h0i\n"
    "Zq7bodyLineTwoAbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/AbCdEfGhIjK\n"
    "-----END RSA PRIVATE KEY-----"
)

# format name -> (text, the secret it holds). Every entry of the table has one.
CAUGHT: dict[str, list[tuple[str, str]]] = {
    "pem-private-key": [
        (f"key loaded:\n{PEM}\nready", "Zq7bodyLineTwo"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktZq7\n", "b3BlbnNzaC1rZXktZq7"),
        (
            '{"key": "-----BEGIN PRIVATE KEY-----\\nMIIZq7abc\\n-----END PRIVATE KEY-----"}',
            "MIIZq7",
        ),
    ],
    "base64-line": [("Zq7bodyLineTwoAbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/AbCd", "Zq7bodyLine")],
    "authorization-header": [
        ("Authorization: Bearer Zq7abcdefgh", "Zq7abcdefgh"),
        ("Authorization: Basic dXNlcjpwYXNzZq7=", "dXNlcjpwYXNzZq7="),
        ("Authorization: Token Zq7abcdefgh", "Zq7abcdefgh"),
        ('{"authorization": "Zq7abcdef9"}', "Zq7abcdef9"),
        ("X-Api-Key: Zq7abcdef9", "Zq7abcdef9"),
    ],
    "cookie-header": [("Cookie: session=Zq7abc; theme=dark", "Zq7abc")],
    "bearer-token": [("retrying with bearer Zq7abcdef0123", "Zq7abcdef0123")],
    "url-password": [
        ("DATABASE_URL=postgres://app:Zq7pass@db:5432/shop", "Zq7pass"),
        ("redis://:Zq7pass@redis:6379/0", "Zq7pass"),
        ("mongodb+srv://app:Zq7pass@cluster0.example.net/db", "Zq7pass"),
        ("jdbc:postgresql://app:Zq7p@ss@db:5432/x", "Zq7p@ss"),
    ],
    "url-user-token": [("git clone https://Zq7tokenvalue@github.com/acme/x", "Zq7tokenvalue")],
    "curl-user": [("curl -u admin:Zq7pass https://api", "Zq7pass")],
    "aws-access-key-id": [
        ("aws key AKIAZQ7ABCDEFGHIJKLM used", "ZQ7ABCDEFGHIJKLM"),
        ("ASIAZQ7ABCDEFGHIJKLM", "ZQ7ABCDEFGHIJKLM"),
    ],
    "jwt": [("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.Zq7c2lnbmF0dXJl", "Zq7c2lnbmF0dXJl")],
    "github-token": [
        (f"GITHUB={GH}", GH[4:]),
        ("gho_Zq7aB3dE5gH7jK9mN1pQ3sT5vX7zcD4fG6h", "Zq7aB3"),
        ("ghs_Zq7aB3dE5gH7jK9mN1pQ3sT5vX7zcD4fG6h", "Zq7aB3"),
        ("ghu_Zq7aB3dE5gH7jK9mN1pQ3sT5vX7zcD4fG6h", "Zq7aB3"),
        ("ghr_Zq7aB3dE5gH7jK9mN1pQ3sT5vX7zcD4fG6h", "Zq7aB3"),
    ],
    "github-fine-grained-pat": [("github_pat_11AZq7" + "x" * 70, "11AZq7")],
    "gitlab-token": [("glpat-Zq7aB3dE5gH7jK9mN1pQ", "Zq7aB3dE5gH7jK9mN1pQ")],
    "slack-token": [
        ("xoxb-1234567890-1234567890123-Zq7abcdefghijk", "Zq7abcdefghijk"),
        ("xoxp-1234567890-Zq7abcdefghijk", "Zq7abcdefghijk"),
        ("xoxa-2-Zq7abcdefghijk", "Zq7abcdefghijk"),
        ("xapp-1-A0Zq7ABCDEF-1234567890-abcdef", "A0Zq7ABCDEF"),
    ],
    "stripe-key": [
        ("sk_live_Zq7abcdefghijklmnop", "Zq7abcdefghijklmnop"),
        ("rk_live_Zq7abcdefghijklmnop", "Zq7abcdefghijklmnop"),
        ("sk_test_Zq7abcdefghijklmnop", "Zq7abcdefghijklmnop"),
    ],
    "google-api-key": [("key=AIzaSyZq7abcdefghijklmnopqrstuvwxyz012", "SyZq7abc")],
    "vault-token": [
        ("hvs.CAESIZq7abcdefghijklmnopqrstuvwxyz", "CAESIZq7"),
        ("hvb.AAAAAQZq7abcdefghijklmnopqrstu", "AAAAAQZq7"),
    ],
    "npm-token": [("//registry.npmjs.org/:_x=npm_Zq7abcdefghijklmnopqrstuvwxyz0123456", "Zq7abc")],
    "openshift-token": [("sha256~Zq7abcdefghijklmnopqrstuvwxyz0123456789ABCD", "Zq7abc")],
    "docker-hub-pat": [("dckr_pat_Zq7abcdefghijklmnopqrstu", "Zq7abc")],
    "llm-api-key": [("sk-proj-Zq7abcdefghijklmnopqrstu", "Zq7abc")],
    "env-entry-json": [('{"name": "DB_PASSWORD", "value": "Zq7pass"}', "Zq7pass")],
    "flag-value-json": [('["migrate", "--password", "Zq7pass"]', "Zq7pass")],
    "mysql-password": [
        ("mysql -uroot -pZq7pass shop", "Zq7pass"),
        ('mysqladmin ping -u root -p"Zq7 pass"', "Zq7 pass"),
        ('["mysqldump", "-u", "root", "-pZq7pass"]', "Zq7pass"),
    ],
    "sshpass-password": [("sshpass -p Zq7pass ssh host", "Zq7pass")],
    "redis-cli-password": [("redis-cli -h redis -a Zq7pass ping", "Zq7pass")],
    "credential-flag": [
        ("app --token Zq7tok", "Zq7tok"),
        ("app --password Zq7pass --verbose", "Zq7pass"),
        ("openssl rsa -passin x -pass Zq7pass", "Zq7pass"),
        ("vault login --client-secret 'Zq7 sec'", "Zq7 sec"),
    ],
    "credential-key-value": [
        ("connecting with password=Zq7pass", "Zq7pass"),
        ("PASSWORD: Zq7pass", "Zq7pass"),
        ("DB_PASS=Zq7pass", "Zq7pass"),
        ("pass=Zq7pass", "Zq7pass"),
        ("passwd: Zq7pass", "Zq7pass"),
        ("pwd=Zq7pass", "Zq7pass"),
        ("passphrase: Zq7pass", "Zq7pass"),
        ("secret=Zq7pass", "Zq7pass"),
        ("client_secret=Zq7pass", "Zq7pass"),
        ("token=Zq7pass", "Zq7pass"),
        ("app --token=Zq7pass", "Zq7pass"),
        ("mysql --password=Zq7pass", "Zq7pass"),
        ("api_key: 'Zq7pass'", "Zq7pass"),
        ("apikey=Zq7pass", "Zq7pass"),
        ("access_key=Zq7pass", "Zq7pass"),
        ("private_key=Zq7pass", "Zq7pass"),
        ("auth=Zq7pass", "Zq7pass"),
        ("{'password': 'Zq7 pass'}", "Zq7 pass"),
        ('{"password": "Zq7 pass"}', "Zq7 pass"),
        ('"token":"Zq7pass"', "Zq7pass"),
        ('{\\"password\\":\\"Zq7pass\\"}', "Zq7pass"),
        ("Server=db;User ID=sa;Password=Zq7pass;Encrypt=true", "Zq7pass"),
        ("jdbc:mysql://db/shop?user=app&password=Zq7pass&ssl=1", "Zq7pass"),
        ('sh -c "PGPASSWORD=Zq7pass psql -h db"', "Zq7pass"),
        ("dbPassword: Zq7pass", "Zq7pass"),
        (":password => 'Zq7pass'", "Zq7pass"),
        ("PASSWORD=${DB_PASSWORD:-Zq7pass}", "Zq7pass"),
    ],
}

# Near misses: diagnostic text the rules quote, to be left exactly as it is.
KEPT = [
    "NOT_AUTHORIZED: blah",
    "token expired",
    "invalid token",
    'secret "db" not found',
    "secretKeyRef",
    "key: app",
    "Unauthorized",
    "authentication required",
    "bearer authentication failed",
    "Authorization failed: access denied",
    "CreateContainerConfigError",
    "$.spec.containers[0].env[1].valueFrom.secretKeyRef.name",
    "registry.example.com/platform/secret-fetcher:0.7.1",
    "registry/vault-token:1.2",
    'Pulling image "ghcr.io/acme/auth:2.0"',
    "Error: couldn't find key db-password in Secret default/db",
    'MountVolume.SetUp failed for volume "default-token-abcde" : secret "x" not found',
    "tokenExpirationSeconds: 3600",
    '"imagePullSecrets":null',
    "bypass=true",
    "password_file=/etc/app/pw",
    "--password-file /etc/app/pw",
    "-password=$(DB_PASSWORD)",
    'password_aux="${MYSQL_ROOT_PASSWORD:-}"',
    "mysql -h db -P3306 -u root -p shop",
    "docker run -p 8080:80 nginx",
    "connecting to auth:8080",
    "ssh://git@github.com/acme/x.git",
    "https://example.com:8443/path?q=1",
    "sha256:3b8f2e5c9c8d0d4a1c7f0e4d8c6b2a1f9e3d7c5b3b8f2e5c9c8d0d4a1c7f0e4d",
    "deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef",
    "the asia-east1 region",
    "keyring=/etc/ceph/keyring",
    "automountServiceAccountToken: false",
    "-----BEGIN CERTIFICATE-----",
    "ghp_short",
]


@pytest.mark.parametrize(
    ("name", "text", "secret"),
    [(name, text, secret) for name, cases in CAUGHT.items() for text, secret in cases],
)
def test_secret_is_masked_by_its_format(name: str, text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and MASK in out, out
    fmt = next(f for f in FORMATS if f.name == name)
    # The entry itself catches it (not a later catch-all), and its kept part survives.
    m = fmt.pattern.search(text)
    assert m is not None, fmt.name
    assert secret in m.group("s") or m.group("s") in secret, m.group("s")
    assert fmt.accept is None or fmt.accept(m)
    assert redact(out) == out  # masking twice changes nothing: saved bundles re-redact


def test_every_format_has_a_test() -> None:
    names = [f.name for f in FORMATS]
    assert len(names) == len(set(names))
    assert set(names) == set(CAUGHT)


@pytest.mark.parametrize("text", KEPT)
def test_diagnostic_text_is_kept(text: str) -> None:
    assert redact(text) == text


def test_what_each_format_keeps() -> None:
    assert redact("Authorization: Bearer Zq7abcdefgh") == f"Authorization: Bearer {MASK}"
    assert redact(f"GITHUB={GH}") == f"GITHUB=ghp_{MASK}"
    assert redact("postgres://app:Zq7pass@db:5432/shop") == f"postgres://app:{MASK}@db:5432/shop"
    assert redact('{"password": "Zq7 pass"}') == f'{{"password": "{MASK}"}}'
    assert redact("mysql -uroot -pZq7pass shop") == f"mysql -uroot -p{MASK} shop"
    out = redact(f"before\n{PEM}\nafter")
    assert out.startswith("before\n-----BEGIN RSA PRIVATE KEY-----\n")
    assert out.endswith(f"{MASK}\n-----END RSA PRIVATE KEY-----\nafter")


def test_a_truncated_pem_key_is_masked_to_the_end() -> None:
    head = PEM.rsplit("\n", 2)[0]  # a log tail that stops inside the key
    assert redact(head + "\n") == "-----BEGIN RSA PRIVATE KEY-----\n" + MASK + "\n"


def test_clean_text_comes_back_unchanged() -> None:
    line = "Back-off restarting failed container db-migrate in pod orders-api"
    assert redact(line) is line


def fixture_strings() -> list[str]:
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for d in sorted((ROOT / "tests" / "fixtures").iterdir()):
        for f in [*d.glob("*.json"), *d.glob("logs/*.log")]:
            text = f.read_text(errors="replace")
            if f.suffix == ".log":
                out += text.splitlines()
            else:
                walk(json.loads(text))
    return sorted(set(out))


def test_redaction_is_idempotent_on_every_fixture_string() -> None:
    for s in fixture_strings():
        once = redact(s)
        assert redact(once) == once, s


ARGV_CASES = [
    (["mysql", "-uroot", "-pZq7pass", "shop"], ["mysql", "-uroot", f"-p{MASK}", "shop"]),
    (["/usr/bin/mysqladmin", "-pZq7pass", "ping"], ["/usr/bin/mysqladmin", f"-p{MASK}", "ping"]),
    (["mysql", "-p", "shop"], ["mysql", "-p", "shop"]),  # -p alone prompts; shop is a db
    (
        ["app", "--password", "Zq7pass", "--token=Zq7tok", "--verbose"],
        ["app", "--password", MASK, f"--token={MASK}", "--verbose"],
    ),
    (["app", "--db-token", "Zq7tok"], ["app", "--db-token", MASK]),
    (["app", "-pass", "Zq7pass"], ["app", "-pass", MASK]),
    (["app", "--api-key", "Zq7key"], ["app", "--api-key", MASK]),
    (["app", "--token", "--verbose"], ["app", "--token", "--verbose"]),  # no value given
    (["app", "--password=$(DB_PASSWORD)"], ["app", "--password=$(DB_PASSWORD)"]),
    (["app", "--password", "$(DB_PASSWORD)"], ["app", "--password", "$(DB_PASSWORD)"]),
    (["sshpass", "-p", "Zq7pass", "ssh", "h"], ["sshpass", "-p", MASK, "ssh", "h"]),
    (["redis-cli", "-a", "Zq7pass", "ping"], ["redis-cli", "-a", MASK, "ping"]),
    (
        ["sh", "-c", "PGPASSWORD=Zq7pass psql -h db -c 'select 1'"],
        ["sh", "-c", f"PGPASSWORD={MASK} psql -h db -c 'select 1'"],
    ),
    # A key flag takes a file: kept. A port is no password: kept.
    (["openssl", "rsa", "-in", "k.pem", "-key", "/etc/tls/tls.key"], None),
    (["kubectl", "--client-key", "/k/key.pem", "get", "pods"], None),
    (["nc", "-p", "5432", "db"], None),
    (["wait-for", "db:5432", "--timeout", "60"], None),
]


@pytest.mark.parametrize(("argv", "want"), ARGV_CASES)
def test_redact_argv(argv: list[str], want: list[str] | None) -> None:
    assert redact_argv(argv) == (argv if want is None else want)


@pytest.mark.parametrize(
    ("key", "credential"),
    [
        ("password", True),
        ("DB_PASSWORD", True),
        ("PGPASSWORD", True),
        ("dbPass", True),
        ("clientSecret", True),
        ("client_secret", True),
        ("token", True),
        ("apiKey", True),
        ("X-API-Key", True),
        ("secretAccessKey", True),
        ("auth", True),
        ("secretName", False),
        ("secretKeyRef", False),
        ("tokenExpirationSeconds", False),
        ("serviceAccountName", False),
        ("key", False),
        ("keyring", False),
        ("secretFile", False),
        ("passwordSecretRef", False),
        ("NOT_AUTHORIZED", False),
    ],
)
def test_names_credential(key: str, credential: bool) -> None:
    assert names_credential(key) is credential


def _pod() -> dict[str, Any]:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "env": [{"name": "DB_PASSWORD", "value": "Zq7lastapplied"}],
                    "args": ["--token", "Zq7lastargs"],
                }
            ]
        },
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {"app": "web", "key": "app"},
            "annotations": {
                LAST_APPLIED: json.dumps(manifest) + "\n",
                "vault.hashicorp.com/agent-inject-secret-db": "database/creds/app",
                "note": "password=Zq7annotation",
            },
        },
        "spec": {
            "automountServiceAccountToken": False,
            "initContainers": [
                {
                    "name": "migrate",
                    "image": "registry.example.com/secret-fetcher:0.7.1",
                    "command": ["sh", "-c", "mysql -uroot -pZq7shell shop < /m.sql"],
                    "args": ["--password", "Zq7arg"],
                    "env": [
                        {"name": "DB_PASSWORD", "value": "Zq7env"},
                        {"name": "API_TOKEN", "value": "Zq7env2"},
                        {"name": "DB_HOST", "value": "db.shop.svc"},
                        {
                            "name": "DB_USER_PASSWORD",
                            "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}},
                        },
                    ],
                    "livenessProbe": {
                        "httpGet": {
                            "path": "/healthz",
                            "port": 8080,
                            "httpHeaders": [{"name": "Authorization", "value": "Zq7hdr"}],
                        }
                    },
                }
            ],
            "containers": [{"name": "web", "image": "ghcr.io/acme/web:1.0"}],
            "volumes": [
                {"name": "db", "secret": {"secretName": "db-credentials"}},
                {
                    "name": "sa",
                    "projected": {
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3600, "path": "token"}}
                        ]
                    },
                },
            ],
        },
        "status": {
            "initContainerStatuses": [
                {
                    "name": "migrate",
                    "lastState": {
                        "terminated": {"exitCode": 1, "message": "auth failed password=Zq7term"}
                    },
                }
            ]
        },
    }


def test_redact_document_masks_a_pods_secrets_and_keeps_the_rest() -> None:
    pod = _pod()
    before = json.dumps(pod)
    out = redact_document(pod)
    assert json.dumps(pod) == before  # a copy: the input is untouched
    text = json.dumps(out)
    assert "Zq7" not in text, text
    init = out["spec"]["initContainers"][0]
    env = {e["name"]: e for e in init["env"]}
    assert env["DB_HOST"]["value"] == "db.shop.svc"
    assert env["DB_USER_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "db", "key": "password"}
    assert init["image"] == "registry.example.com/secret-fetcher:0.7.1"
    assert init["args"] == ["--password", MASK]
    assert out["spec"]["volumes"][0] == {"name": "db", "secret": {"secretName": "db-credentials"}}
    projected = out["spec"]["volumes"][1]["projected"]["sources"][0]["serviceAccountToken"]
    assert projected == {"expirationSeconds": 3600, "path": "token"}
    assert out["spec"]["automountServiceAccountToken"] is False
    assert out["metadata"]["labels"] == {"app": "web", "key": "app"}
    notes = out["metadata"]["annotations"]
    assert notes["vault.hashicorp.com/agent-inject-secret-db"] == "database/creds/app"
    applied = notes[LAST_APPLIED]
    assert applied.endswith("\n")
    manifest = json.loads(applied)  # still the manifest kubectl wrote, minus the values
    assert manifest["spec"]["containers"][0]["env"] == [{"name": "DB_PASSWORD", "value": MASK}]
    assert manifest["spec"]["containers"][0]["args"] == ["--token", MASK]


def test_last_applied_that_does_not_parse_is_masked_whole() -> None:
    meta = {"annotations": {LAST_APPLIED: '{"env": [{"name": "X", "value": "Zq7'}}
    assert redact_document(meta) == {"annotations": {LAST_APPLIED: MASK}}


def test_a_secret_objects_values_go_its_keys_stay() -> None:
    secret = {"kind": "Secret", "data": {"password": "WnE3"}, "stringData": {"url": "x"}}
    assert redact_document(secret) == {
        "kind": "Secret",
        "data": {"password": MASK},
        "stringData": {"url": MASK},
    }


def test_redact_document_never_raises() -> None:
    deep: list[Any] = []
    node = deep
    for _ in range(5000):
        node.append([])
        node = node[0]
    odd = {
        "huge": 10**5000,
        "surrogate": "\udcff password=Zq7x",
        "set": {1, 2},
        "bytes": b"Zq7",
        "tuple": ("a", 1),
        3: "int key",
        "nan": float("nan"),
        "deep": deep,
    }
    out = redact_document(odd)
    assert out["huge"] == MASK and out["set"] == MASK and out["bytes"] == MASK
    assert out["surrogate"] == f"\udcff password={MASK}"
    assert out["tuple"] == ["a", 1] and out["3"] == "int key"
    json.dumps(out)  # printable: no int too long, no nesting too deep
    assert redact_document(object()) == MASK


N = 100_000
PATHOLOGICAL = {
    "command repeated": "mysql curl redis-cli " * (N // 21),
    "pem then blanks": "-----BEGIN RSA PRIVATE KEY-----\n" + " " * N + "x",
    "pem begins only": "-----BEGIN RSA PRIVATE KEY-----\n" * (N // 32),
    "key words, no separator": "passwordtoken" * (N // 13),
    "key then blanks": ("password" + " " * 50) * (N // 58),
    "long env name": '"name": "' + "key" * (N // 3) + '", "x"',
    "url without @": "http://a:" + "b" * N,
    "flag segments": "--" + "a-" * (N // 2),
    "unterminated quote": 'password="' + "\\\\" * (N // 2),
    "separator chain": "token:secret=" * (N // 13),
    "headers": "authorization: cookie: bearer " * (N // 30),
}


@pytest.mark.parametrize("text", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_hostile_text_costs_linear_time(text: str) -> None:
    # Quadratic backtracking on 100 kB takes minutes; linear work takes milliseconds.
    start = time.perf_counter()
    redact(text)
    assert time.perf_counter() - start < 3
