"""A small REST client for the test harness: it writes what a cluster's components would
(pods, nodes, statuses, events) as a given user, over keep-alive HTTPS.

Deliberately not the ``kubernetes`` client that ``podinit_diag`` reads with: the harness
must not share the code under test, and it needs raw control (status subresources,
``as=Table``, exact query strings, the status code of a refusal).
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

Json = dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int, body: bytes, what: str) -> None:
        self.status = status
        self.body = body
        try:
            self.doc: Json = json.loads(body)
        except ValueError:
            self.doc = {}
        super().__init__(f"{what}: {status} {self.doc.get('message') or body[:300]!r}")

    @property
    def reason(self) -> str:
        return str(self.doc.get("reason", ""))


class Rest:
    """Requests as one user (a bearer token) to one server, one connection per thread."""

    def __init__(self, server: str, token: str, ca_file: str) -> None:
        parts = urlsplit(server)
        self.server = server
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        self.token = token
        self._tls = ssl.create_default_context(cafile=ca_file)
        self._local = threading.local()

    def _conn(self, timeout: float) -> http.client.HTTPSConnection:
        conn: http.client.HTTPSConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(self.host, self.port, context=self._tls)
            self._local.conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def raw(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        accept: str = "application/json",
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> tuple[int, bytes, http.client.HTTPMessage]:
        url = path + ("?" + urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Accept": accept}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            conn = self._conn(timeout)
            try:
                conn.request(method, url, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                return resp.status, payload, resp.headers
            except (http.client.HTTPException, OSError):  # ssl.SSLEOFError among them
                conn.close()  # a keep-alive connection the server closed: once more, anew
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> Json:
        status, payload, _ = self.raw(method, path, body, query or None)
        if status >= 300:
            raise ApiError(status, payload, f"{method} {path}")
        doc: Json = json.loads(payload) if payload else {}
        return doc

    def get(self, path: str, **query: Any) -> Json:
        return self.call("GET", path, **query)

    def create(self, path: str, body: Json, **query: Any) -> Json:
        return self.call("POST", path, body, **query)

    def put(self, path: str, body: Json) -> Json:
        return self.call("PUT", path, body)

    def patch(self, path: str, body: Json, kind: str = "merge") -> Json:
        types = {
            "merge": "application/merge-patch+json",
            "strategic": "application/strategic-merge-patch+json",
        }
        status, payload, _ = self.raw("PATCH", path, body, content_type=types[kind])
        if status >= 300:
            raise ApiError(status, payload, f"PATCH {path}")
        doc: Json = json.loads(payload)
        return doc

    def delete(self, path: str, **query: Any) -> Json | None:
        status, payload, _ = self.raw("DELETE", path, query=query or None)
        if status == 404:
            return None
        if status >= 300:
            raise ApiError(status, payload, f"DELETE {path}")
        doc: Json = json.loads(payload)
        return doc

    def text(self, path: str, **query: Any) -> str:
        status, payload, _ = self.raw("GET", path, query=query or None, accept="*/*")
        if status >= 300:
            raise ApiError(status, payload, f"GET {path}")
        return payload.decode()

    def list_all(self, path: str, **query: Any) -> list[Json]:
        items: list[Json] = []
        token = ""
        while True:
            page = self.get(path, limit=500, **query, **({"continue": token} if token else {}))
            items += page.get("items") or []
            token = page.get("metadata", {}).get("continue", "")
            if not token:
                return items

    def watch(
        self, path: str, resource_version: str, timeout_seconds: int = 60, **query: Any
    ) -> Iterator[Json]:
        """Watch events, on a connection of its own, until the server ends the stream."""
        q = dict(
            query,
            watch="true",
            resourceVersion=resource_version,
            timeoutSeconds=timeout_seconds,
            allowWatchBookmarks="true",
        )
        conn = http.client.HTTPSConnection(
            self.host, self.port, context=self._tls, timeout=timeout_seconds + 30
        )
        try:
            conn.request(
                "GET",
                f"{path}?{urlencode(q)}",
                headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
            )
            resp = conn.getresponse()
            if resp.status >= 300:
                raise ApiError(resp.status, resp.read(), f"WATCH {path}")
            while True:
                line = resp.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            conn.close()

    def wait_for(self, check: Any, timeout: float = 60.0, what: str = "condition") -> Any:
        """Poll ``check()`` until it returns something truthy; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
            time.sleep(0.2)
