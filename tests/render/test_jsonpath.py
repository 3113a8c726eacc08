"""kubectl's JSONPath templates over the JSON report: what parse() refuses, how a template
runs over real and hostile reports, and what reaches the terminal. The agreement with
the real kubectl, byte for byte, is in test_jsonpath_kubectl.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podinit_diag import diagnose_path
from podinit_diag.core.errors import InputError
from podinit_diag.core.sanitize import escape
from podinit_diag.engine import diagnose
from podinit_diag.render import jsonout
from podinit_diag.render.jsonpath import parse
from tests.conftest import FIXTURES
from tests.render.test_hostile_text import ATTACKS, FORGED, INIT, NOW, hostile_bundle


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    reports = diagnose_path(FIXTURES / "PI404-init-declared-before-cloud-sql-proxy")
    return jsonout.envelope(reports)


@pytest.fixture(scope="module")
def hostile() -> dict[str, Any]:
    return jsonout.envelope([diagnose(hostile_bundle(), now=NOW)])


def render(template: str, data: Any) -> str:
    return parse(template).render(data)


# --- what parse() refuses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{.a", "unclosed action"),
        ("{.a\n}", "unclosed action"),  # an action cannot span lines, in a file either
        ("{.a[0", "unterminated array"),
        ("{.a[?(@.x==1]}", "unterminated filter"),
        ("{.a[?(@.x==1)x}", "unclosed array expect ]"),
        ('{"abc}', "unterminated quoted string"),
        ('{"\\q"}', 'unquote string "\\q" error invalid syntax'),
        ("{.a[x]}", "invalid array index x"),
        ("{.a[1:-]}", "array index - is not a number"),
        ("{1.2.3}", "cannot parse number 1.2.3"),
        ("{.a....b}", "invalid multiple recursive descent"),
        ("{.a!b}{.c (}", "unrecognized character in action: U+0028 '('"),
        ("{nosuch}", "unrecognized identifier nosuch"),
        ("{.a[?(@.x==nosuch)]}", "unrecognized identifier nosuch"),
        ("{range .a[*]}{end}{end}", "not in range, nothing to end"),
        # meaningless in kubectl (an identifier acts wherever it is): refused here
        ("{.a range .b}", "range must begin its action"),
        ("{range .a[*]}{end .b}", "end must stand alone in its action"),
        ("{.a[?(@.x<>1)]}", "unrecognized filter operator <>"),
        ("{.a[?(@.x=1)]}", "unrecognized filter operator ="),
        ("{.a[::0]}", "step must be > 0"),
        ("{.a[::-1]}", "step must be > 0"),
    ],
)
def test_refused_with_kubectls_reason(template: str, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        parse(template)
    message = str(caught.value)
    assert message == f"error parsing jsonpath {escape(template)}, {reason}"
    assert "\n" not in message


def test_error_names_a_long_template_briefly() -> None:
    template = "{.reports[*].pod.name}\n" * 40 + "{.a"
    with pytest.raises(InputError) as caught:
        parse(template)
    message = str(caught.value)
    assert message.endswith("..., unclosed action") and len(message) < 300
    assert "\n" not in message


def test_a_template_file_is_taken_whole(doc: dict[str, Any]) -> None:
    """What -o jsonpath-file reads: lines outside actions, a final newline, all printed."""
    text = "{range .reports[*]}{.pod.name}\n{end}worst: {.reports[0].summary.worst}\n"
    report = doc["reports"][0]
    assert render(text, doc) == f"{report['pod']['name']}\nworst: {report['summary']['worst']}\n"


def test_empty_template_prints_nothing(doc: dict[str, Any]) -> None:
    # kubectl refuses an empty -o jsonpath= at the flag, but runs an empty template file
    assert render("", doc) == ""


# --- what a template prints -----------------------------------------------------------------


def test_paths_over_a_report(doc: dict[str, Any]) -> None:
    report = doc["reports"][0]
    codes = [f["code"] for f in report["findings"]]
    assert render("{.reports[0].findings[*].code}", doc) == " ".join(codes)
    assert render("{..code}", doc) == " ".join(codes)
    assert render("{.reports[0].pod['namespace','name']}", doc) == (
        f"{report['pod']['namespace']} {report['pod']['name']}"
    )
    errors = [f["code"] for f in report["findings"] if f["severity"] == "error"]
    assert render('{.reports[*].findings[?(@.severity=="error")].code}', doc) == " ".join(errors)
    names = [s["name"] for s in report["init_timeline"]]
    assert render("{.reports[0].init_timeline[-1].name}", doc) == names[-1]
    assert render("{.reports[0].init_timeline[0:1].name}", doc) == names[0]


def test_nested_ranges_and_literals(doc: dict[str, Any]) -> None:
    template = (
        '{range .reports[*]}{.pod.name}{"\\n"}'
        '{range .findings[*]}{"\\t"}{.code}{range .evidence[?(@.source=="log")]} {.ref}{end}'
        '{"\\n"}{end}{end}'
    )
    report = doc["reports"][0]
    want = report["pod"]["name"] + "\n"
    for f in report["findings"]:
        logs = "".join(f" {e['ref']}" for e in f["evidence"] if e["source"] == "log")
        want += f"\t{f['code']}{logs}\n"
    assert render(template, doc) == want


def test_dollar_is_the_current_element_in_a_range() -> None:
    # as in kubectl: $ and @ are the range's element, not the document
    data = {"x": "top", "items": [{"x": 1}, {"x": 2}]}
    assert render("{range .items[*]}{$.x}{@.x}{end}{$.x}", data) == "1122top"


def test_a_range_without_end_runs_its_body_again_at_the_top() -> None:
    data = {"items": [{"x": 1}, {"x": 2}], "x": "top"}
    assert render("{range .items[*]}[{.x}]", data) == "[1][2][top]"


def test_missing_keys_and_kubectls_errors_print_nothing() -> None:
    data = {"items": [{"n": []}, {"n": [{"c": "a"}]}, {"n": "text", "s": None}], "m": {"k": 1}}
    assert render("[{.nosuch}][{.items[*].nosuch}]", data) == "[][]"
    # an index out of range (kubectl stops there) yields nothing for that item only
    assert render("{.items[*].n[0].c}", data) == "a"
    assert render("{.items[5]}[{.items[1:9]}]{.items[2:1]}", data) == "[]"
    # a filter or an index on a map or a string
    assert render("{.m[?(@.k)]}{.m[0]}{.items[2].n[0]}", data) == ""
    # null and other types compare unequal (kubectl: an error)
    assert render('{.items[?(@.s=="x")].n}|{.items[?(@.s!="x")].n}', data) == "|text"
    assert render("{.items[?(@.s)].n}", data) == "text"  # a null member exists


def test_results_are_printed_as_kubectl_prints_them() -> None:
    data = {
        "m": {"b": [1, None], "a": "x<y"},
        "n": None,
        "t": True,
        "i": 3,
        "f": [1.0, 0.5, 1e6, 1e-5, 1e21, 1e-7],
    }
    assert render("{.m}", data) == '{"a":"x\\u003cy","b":[1,null]}'  # keys sorted, as Go
    assert render("{.n} {.t} {.i} {.m.b[*]}", data) == "null true 3 1 null"
    # Go's fmt for a float64, and encoding/json inside a list
    assert render("{.f[*]}", data) == "1 0.5 1e+06 1e-05 1e+21 1e-07"
    assert render("{.f}", data) == "[1,0.5,1000000,0.00001,1e+21,1e-7]"


def test_a_template_is_parsed_once_and_applied_to_many(doc: dict[str, Any]) -> None:
    template = parse("{.reports[0].pod.name}")
    other = json.loads(json.dumps(doc))
    other["reports"][0]["pod"]["name"] = "other"
    assert template.render(doc) != template.render(other) == "other"
    assert template.render(doc) == doc["reports"][0]["pod"]["name"]


# --- what reaches the terminal -------------------------------------------------------------


def test_strings_from_the_pod_are_escaped(hostile: dict[str, Any]) -> None:
    out = render('{range .reports[*].init_timeline[*]}{.name}{"\\n"}{end}', hostile)
    assert out == escape(INIT) + "\n"
    assert out == "init\\x1b]0;x\\x07\n"  # the template's newline is real, the name's ESC not
    message = render("{.reports[0].pod_conditions[?(@.type=='Ready')].message}", hostile)
    assert message.isprintable() and message.count(FORGED) == len(ATTACKS) and "\\u202e" in message


def test_maps_from_the_pod_are_json_with_escapes(hostile: dict[str, Any]) -> None:
    for template, value in [
        ("{.reports[0].pod}", hostile["reports"][0]["pod"]),
        ("{.reports[0].pod_conditions}", hostile["reports"][0]["pod_conditions"]),
        ("{.reports[0].findings[0]}", hostile["reports"][0]["findings"][0]),
    ]:
        out = render(template, hostile)
        assert out.isprintable(), template
        assert json.loads(out) == json.loads(json.dumps(value))  # the same data
    assert "\\u202e" in render("{.reports[0].pod.namespace}", hostile)


def test_whole_hostile_report_is_safe(hostile: dict[str, Any]) -> None:
    for template in ("{}", "{..}", "{..message}", "{.reports[*].findings[*].evidence[*].text}"):
        out = render(template, hostile)
        assert out.isprintable(), template
        assert out.count(FORGED) >= len(ATTACKS)


def test_the_templates_own_text_is_printed_as_written() -> None:
    # the user's template, not the pod's data: a script's separators and colours
    assert render('a\tb{"\\x1b[1m"}{.x}{"\\t\\n"}', {"x": "\x1b[2J"}) == ("a\tb\x1b[1m\\x1b[2J\t\n")


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        # keys without surrogates: a pair of lone ones and the character they make would be
        # one key once read back
        | st.dictionaries(st.text(st.characters(exclude_categories=("Cs",))), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(JSON_VALUES)
def test_any_value_prints_safely_and_keeps_its_data(value: Any) -> None:
    out = render("{.v}", {"v": value})
    assert out.isprintable()
    if isinstance(value, str):
        assert out == escape(value)
    elif isinstance(value, dict | list):
        assert _same(json.loads(out), value)
    elif isinstance(value, float):
        assert float(out) == value  # the shortest digits that read back as the value


def _same(a: Any, b: Any) -> bool:
    """JSON equality, with numbers compared as numbers and strings as what JSON makes of
    them (a pair of lone surrogates reads back as one character)."""
    if isinstance(b, str):
        return bool(a == json.loads(json.dumps(b)))
    if isinstance(b, bool) or b is None:
        return a is b
    if isinstance(b, int | float):
        # Go writes a float's shortest digits, padded with zeros: read back, the same float
        number = isinstance(a, int | float) and not isinstance(a, bool)
        return number and (a == b if isinstance(b, int) else float(a) == b)
    if isinstance(b, list):
        return isinstance(a, list) and len(a) == len(b) and all(map(_same, a, b))
    keys = {json.loads(json.dumps(k)): v for k, v in b.items()}
    return isinstance(a, dict) and a.keys() == keys.keys() and all(_same(a[k], keys[k]) for k in a)


TEMPLATE_PIECES = st.sampled_from(
    [*"{}[]().@$*?'\":,=!<>-+ 01a\\\n", "range ", "end", "..", "[?(@.", "true", "{.a[*]}"]
)


@given(st.lists(TEMPLATE_PIECES, max_size=25).map("".join))
def test_any_template_parses_or_is_refused_in_one_line(template: str) -> None:
    data = {"a": [{"b": 1, "c": "x"}, {"b": 2}], "d": {"e": None}, "f": "s", "1": [1, 2]}
    try:
        parsed = parse(template)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(parsed.render(data), str)
