"""``-o html`` (render.html): one self-contained page per run, a section per pod with its
timeline as an SVG of one bar per init or sidecar container, and everything from the
cluster escaped: a hostile pod cannot add an element, an attribute or a script."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from podinit_diag import diagnose_path
from podinit_diag.core.model import Report
from podinit_diag.engine import diagnose
from podinit_diag.render import html
from podinit_diag.render.common import clean

from ..conftest import FIXTURES
from .test_bars import (
    STARTING,
    make_pod,
    report_of,
    running,
    status,
    terminated,
    waiting,
)
from .test_hostile_text import NOW, SECRET, hostile_bundle

THREE = (
    "PI101-init-crashloop-migrate",
    "PI404-init-declared-before-cloud-sql-proxy",
    "PI103-init-oomkilled",
)
# What the page is made of; a tag outside it came from the data.
TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "nav", "ol",
    "ul", "li", "a", "span", "section", "table", "thead", "tbody", "tr", "th", "td", "p",
    "code", "strong", "figure", "figcaption", "svg", "defs", "pattern", "rect", "g", "text",
    "line",
}  # fmt: skip


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    parents: tuple[str, ...] = ()

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()


@dataclass
class Page(HTMLParser):
    """The elements of a page, each with its text and the tags it sits in."""

    elements: list[Element] = field(default_factory=list)
    open: list[Element] = field(default_factory=list)
    doctype: str = ""

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    _VOID = frozenset({"meta", "br", "img", "input", "link", "hr"})  # HTML void elements

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        e = Element(tag, {k: v or "" for k, v in attrs}, parents=tuple(o.tag for o in self.open))
        self.elements.append(e)
        if tag not in self._VOID:
            self.open.append(e)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(
            Element(tag, {k: v or "" for k, v in attrs}, parents=tuple(o.tag for o in self.open))
        )

    def handle_endtag(self, tag: str) -> None:
        if tag in self._VOID:
            return
        assert self.open and self.open[-1].tag == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        for e in self.open:
            e.text += data

    def all(self, tag: str, cls: str | None = None) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and (cls is None or cls in e.classes)]


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    assert not page.open, f"unclosed: {[e.tag for e in page.open]}"
    return page


def sections(text: str) -> list[Page]:
    """Each pod's section parsed on its own."""
    parts = text.split('<section class="pod"')[1:]
    return [parse('<section class="pod"' + p.split("</section>")[0] + "</section>") for p in parts]


@pytest.fixture(scope="module")
def three() -> list[Report]:
    return [r for name in THREE for r in diagnose_path(FIXTURES / name)]


def test_one_page_with_a_section_per_pod_and_a_bar_per_container(three: list[Report]) -> None:
    text = html.render(three)
    page = parse(text)
    assert page.doctype == "DOCTYPE html"
    assert [e.tag for e in page.elements[:3]] == ["html", "head", "meta"]
    assert page.all("title")[0].text == "initdoctor: 3 pods"
    # a list of the pods, linking to their sections
    links = [a.attrs["href"] for a in page.all("a")]
    assert links == ["#pod-1", "#pod-2", "#pod-3"]
    assert [s.attrs["id"] for s in page.all("section", "pod")] == ["pod-1", "pod-2", "pod-3"]
    for r, section in zip(three, sections(text), strict=True):
        assert len(section.all("svg")) == 1
        bars = section.all("rect", "bar")
        assert [b.attrs["data-container"] for b in bars] == [s.name for s in r.timeline]
        assert all("svg" in b.parents for b in bars)
        blocking = [b.attrs["data-container"] for b in bars if "blocking" in b.classes]
        assert blocking == [s.name for s in r.timeline if s.blocking]
        assert [b.attrs["data-restarts"] for b in bars] == [str(s.restarts) for s in r.timeline]
        h2 = section.all("h2")[0].text
        assert f"{r.pod.namespace}/{r.pod.name}" in h2 and "ERROR" in h2
        pod_cells = [td.text for td in section.all("td")[:6]]  # the pod's table comes first
        p = r.pod
        assert pod_cells == [p.name, p.ready, p.status, p.restarts, p.age, p.node]
        findings = section.all("li", "finding")
        assert len(findings) == len(r.findings)
        for f, li in zip(r.findings, findings, strict=True):
            assert f.severity.value in li.classes
            assert f.code in li.text and f.title in li.text
            for e in f.evidence:
                assert e.ref in li.text and e.text in li.text
        assert section.all("p", "conditions")[0].text.startswith("Conditions: PodScheduled ✓")
        assert "Initialized … waiting" in section.all("strong")[0].text


def test_commands_in_a_fix_are_code() -> None:
    (r,) = diagnose_path(FIXTURES / "PI101-init-crashloop-migrate")
    page = parse(html.render([r]))
    (fix,) = page.all("p", "fix")
    codes = [c.text for c in page.all("code") if "p" in c.parents and c.parents[-1] == "p"]
    assert "kubectl logs orders-api-w5s99f45z7-z8s82 -n orders -c db-migrate --previous" in codes
    assert "`" not in fix.text


def test_the_page_needs_nothing_from_outside(three: list[Report]) -> None:
    text = html.render(three)
    page = parse(text)
    tags = {e.tag for e in page.elements}
    assert tags <= TAGS
    assert not {"script", "link", "img", "iframe", "object", "embed", "base"} & tags
    (csp,) = [m for m in page.all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert csp.attrs["content"].startswith("default-src 'none'")
    for e in page.elements:
        assert "src" not in e.attrs
        assert not any(k.startswith("on") for k in e.attrs)
        href = e.attrs.get("href", "#")
        assert href.startswith("#") or href.startswith("https://"), href
    # url(#...) fills point into the page itself
    assert "url(http" not in text and "@import" not in text


HOSTILE_NAME = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
HOSTILE_NS = "</svg></style><script>alert(3)</script>"
HOSTILE_REASON = "</title><script>alert(4)</script>\u202e\x9b2J\x1b[1A"


def hostile_report() -> Report:
    """A pod whose names, reasons and messages are markup: tags that would run a script,
    quotes that would end an attribute, ends of the page's own elements (svg, style,
    title), bidi and C1 controls, a secret."""
    conditions = STARTING | {"Initialized": ("False", 0)}
    pod = make_pod(
        [
            (HOSTILE_NAME, status(HOSTILE_NAME, terminated(5, 9))),
            (
                "migrate'\"",
                status(
                    "migrate'\"",
                    waiting(HOSTILE_REASON),
                    terminated(40, 50, 1),
                    restarts=3,
                ),
            ),
        ],
        conditions,
        name='web"><svg onload=alert(5)>',
        namespace=HOSTILE_NS,
    )
    pod["status"]["conditions"][2]["message"] = f"password={SECRET} <b>bold</b> \u2066x\u2069"
    return report_of(pod)


@pytest.fixture(scope="module")
def hostile() -> Report:
    return hostile_report()


def test_hostile_strings_stay_text(hostile: Report) -> None:
    text = html.render([hostile, diagnose(hostile_bundle(), now=NOW)])
    page = parse(text)
    assert {e.tag for e in page.elements} <= TAGS
    assert not page.all("script") and not page.all("img")
    for e in page.elements:
        assert not any(k.startswith("on") for k in e.attrs), e
    # control, bidi and C1 characters reach the page only as visible escapes
    assert all(c == "\n" or c.isprintable() for c in text)
    assert "\\u202e\\x9b2J\\x1b[1A" in text
    assert SECRET not in text
    # the names are shown whole, as text: in attributes and in the page's title
    bars = page.all("rect", "bar")
    assert [b.attrs["data-container"] for b in bars][:2] == [HOSTILE_NAME, "migrate'\""]
    assert page.all("title")[0].text == "initdoctor: 2 pods"
    assert HOSTILE_NS in page.all("h2")[0].text
    assert clean(HOSTILE_REASON) in bars[1].text  # its tooltip
    assert page.all("text", "label")[1].text.startswith("×3 ◀ </title><script>")
    # the SVG is one element that closes where the page closes it
    assert len(page.all("svg")) == 2


def test_docs_are_links_only_when_they_are_web_addresses() -> None:
    (r,) = diagnose_path(FIXTURES / "PI101-init-crashloop-migrate")
    url = 'https://example.com/rules?a=1&b="2"#pi101'
    for docs, link in ((url, True), ("javascript:alert(1)", False), ("docs/rules.md#x", False)):
        f = dataclasses.replace(r.findings[0], docs=docs)
        page = parse(html.render([dataclasses.replace(r, findings=(f,))]))
        hrefs = [a.attrs["href"] for a in page.all("a")]
        assert hrefs == ([url] if link else [])
        assert docs in page.all("p", "docs")[0].text


def test_pods_without_init_containers_and_empty_pages() -> None:
    r = report_of(make_pod([], STARTING))
    page = parse(html.render([r]))
    assert not page.all("svg") and page.all("section", "pod")
    assert page.all("title")[0].text == "initdoctor: shop/web-0"
    assert "No pods." in parse(html.render([])).all("body")[0].text


def test_a_ready_pod_is_drawn_on_its_start_up(three: list[Report]) -> None:
    (r,) = diagnose_path(FIXTURES / "ok-completed-init-running-app")
    page = parse(html.render([r]))
    assert "no problems found" in page.all("h2")[0].text
    marks = {e.attrs["data-mark"] for e in page.all("line", "mark")}
    assert marks == {"scheduled", "initialized", "ready"}  # now is days later, off the axis
    ticks = [t.text for t in page.all("text", "tick")]
    assert ticks[-1].startswith("19s (now +2d")
    sidecar = report_of(
        make_pod([("proxy", status("proxy", running(3)))], STARTING, sidecars=frozenset({"proxy"}))
    )
    (bar,) = parse(html.render([sidecar])).all("rect", "bar")
    assert bar.classes == ["bar", "sidecar"] and bar.attrs["data-state"] == "running"
