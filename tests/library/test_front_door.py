"""``podinit_diag.diagnose`` as a script calls it: a pod dict, the official client's V1Pod
(through the client's own deserializer and serializer, as ``read_namespaced_pod`` gives
it), or a Bundle; events and logs in the forms a script holds them; one-line InputError
for anything else; and ``import podinit_diag`` still without the client."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

import podinit_diag
from podinit_diag import Bundle, Config, InputError, Report, diagnose, diagnose_path

from ..conftest import FIXTURES, ROOT

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
CRASHLOOP = FIXTURES / "PI101-init-crashloop-migrate"  # logs with a traceback
MISSING_CM = FIXTURES / "PI301-volume-configmap-missing"  # only its events tell


def _read(d: Path) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, bytes], datetime]:
    pod = json.loads((d / "pod.json").read_text())
    events_doc = json.loads((d / "events.json").read_text())
    events = events_doc["items"] if isinstance(events_doc, dict) else events_doc
    logs = {f.name: f.read_bytes() for f in sorted((d / "logs").glob("*.log"))}
    captured = json.loads((d / "meta.json").read_text())["captured_at"]
    return pod, events, logs, datetime.fromisoformat(captured.replace("Z", "+00:00"))


def _model(data: Any, klass: str) -> Any:
    """``data`` as the client's model, deserialized the way its API methods do it."""
    return ApiClient().deserialize(json.dumps(data), klass, "application/json")


def _without_source(r: Report) -> dict[str, Any]:
    d = r.to_dict()
    d.pop("source")
    return d


def _story(r: Report) -> list[tuple[Any, ...]]:
    return [(f.code, f.container, f.title, f.fix) for f in r.findings]


@pytest.mark.parametrize("case", [CRASHLOOP, MISSING_CM], ids=lambda p: p.name)
def test_a_pod_dict_with_events_and_logs_is_the_bundle_diagnosis(case: Path) -> None:
    pod, events, logs, captured = _read(case)
    (from_files,) = diagnose_path(case)
    assert from_files.findings
    given = diagnose(pod, events=events, logs=logs, now=captured)
    assert _without_source(given) == _without_source(from_files)
    # the EventList document as kubectl prints it, and logs keyed by container
    event_list = json.loads((case / "events.json").read_text())
    by_container = {k.removesuffix(".log"): v.decode() for k, v in logs.items()}
    again = diagnose(pod, events=event_list, logs=by_container, now=captured)
    assert _without_source(again) == _without_source(from_files)


def test_every_accepted_logs_key_names_the_same_log() -> None:
    pod, events, logs, captured = _read(CRASHLOOP)
    text = logs["db-migrate.previous.log"]
    want = _story(
        diagnose(pod, events=events, logs={"db-migrate.previous.log": text}, now=captured)
    )
    assert any(e.source == "log" for f in diagnose_path(CRASHLOOP)[0].findings for e in f.evidence)
    for key in ("db-migrate.previous", ("db-migrate", True)):
        got = diagnose(pod, events=events, logs={key: text.decode()}, now=captured)
        assert _story(got) == want
        (log_ev,) = [e for f in got.findings for e in f.evidence if e.source == "log"]
        assert log_ev.ref.startswith("logs/db-migrate.previous.log:")
    # without the log the finding cannot quote it: the key is really read
    bare = diagnose(pod, events=events, now=captured)
    assert not [e for f in bare.findings for e in f.evidence if e.source == "log"]


def test_a_v1pod_from_the_client_is_diagnosed_like_its_dict() -> None:
    pod, events, logs, captured = _read(CRASHLOOP)
    v1pod = _model(pod, "V1Pod")
    assert type(v1pod).__name__ == "V1Pod"
    want = diagnose(pod, events=events, logs=logs, now=captured)
    got = diagnose(v1pod, events=events, logs=logs, now=captured)
    assert got.findings and _story(got) == _story(want)
    assert got.pod == want.pod
    # and its events as the client's list object, or as a list of its event objects
    event_list = _model(json.loads((CRASHLOOP / "events.json").read_text()), "CoreV1EventList")
    assert _story(diagnose(v1pod, events=event_list, logs=logs, now=captured)) == _story(want)
    assert _story(diagnose(v1pod, events=event_list.items, logs=logs, now=captured)) == _story(want)


def test_client_events_are_read_not_dropped() -> None:
    """PI301 is found only from the pod's FailedMount event: with the client's event objects
    it must still be found (a dropped event would leave a fallback finding)."""
    pod, events, _, captured = _read(MISSING_CM)
    codes = [f.code for f in diagnose(pod, events=events, now=captured).findings]
    assert "PI301" in codes
    assert "PI301" not in [f.code for f in diagnose(pod, now=captured).findings]
    v1_events = [_model(e, "CoreV1Event") for e in events]
    assert [
        f.code for f in diagnose(_model(pod, "V1Pod"), events=v1_events, now=captured).findings
    ] == codes


def test_events_k8s_io_events_are_read() -> None:
    """events.k8s.io/v1 names the pod `regarding` and the text `note`."""
    pod, events, _, captured = _read(MISSING_CM)
    renamed = []
    for e in events:
        e = dict(e)
        e["regarding"] = e.pop("involvedObject")
        e["note"] = e.pop("message")
        e["apiVersion"] = "events.k8s.io/v1"
        renamed.append(e)
    assert "PI301" in [f.code for f in diagnose(pod, events=renamed, now=captured).findings]


def test_the_bundle_form_keeps_working_positionally() -> None:
    (bundle,) = podinit_diag.load_path(CRASHLOOP)
    assert diagnose(bundle) == podinit_diag.diagnose_bundle(bundle)
    assert diagnose(bundle, Config(ignore=("PI1",)), NOW) == podinit_diag.diagnose_bundle(
        bundle, Config(ignore=("PI1",)), NOW
    )


def _one_line(call: Any) -> str:
    with pytest.raises(InputError) as info:
        call()
    message = str(info.value)
    assert message and "\n" not in message
    return message


POD = json.loads((CRASHLOOP / "pod.json").read_text())


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: diagnose([POD]), "not a list"),
        (lambda: diagnose((POD,)), "not a tuple"),
        (lambda: diagnose("pod.json"), "diagnose_path"),
        (lambda: diagnose(Path("pod.json")), "diagnose_path"),
        (lambda: diagnose(b"{}"), "diagnose_path"),
        (lambda: diagnose(42), "not an int"),
        (lambda: diagnose(None), "not a NoneType"),
        (lambda: diagnose({"kind": "PodList", "items": [POD]}), "not a PodList"),
        (lambda: diagnose({"items": [POD]}), "one pod"),
        (lambda: diagnose({"kind": "Deployment", "metadata": {}}), "not a 'Deployment' object"),
        (lambda: diagnose({"kind": "Pod\nPod"}), "not a 'Pod\\nPod' object"),
        (lambda: diagnose({"kind": "Pod\nList"}), "not a list"),
        (lambda: diagnose(POD, [{"reason": "x"}]), "events and logs are keyword arguments"),
        (lambda: diagnose(POD, events="BackOff"), "events must be a list"),
        (lambda: diagnose(POD, events={"reason": "BackOff"}), "EventList"),
        (lambda: diagnose(POD, events=[None]), "events[0]"),
        (lambda: diagnose(POD, logs="text"), "logs must be a mapping"),
        (lambda: diagnose(POD, logs={"db-migrate": 42}), "not str or bytes"),
        (lambda: diagnose(POD, logs={7: "x"}), "logs key"),
        (lambda: diagnose(POD, logs={"a": "x", "a.log": "y"}), "same log"),
        (lambda: diagnose(POD, now=datetime(2026, 1, 1)), "time zone"),
        (lambda: diagnose(Bundle(pod=POD), events=[]), "Bundle carries its own"),
        (lambda: diagnose(_model({"items": [POD]}, "V1PodList")), "one pod"),
    ],
)
def test_what_cannot_be_diagnosed_is_a_one_line_input_error(call: Any, words: str) -> None:
    assert words in _one_line(call)


def test_odd_data_inside_a_given_pod_still_gets_a_report() -> None:
    odd = {**POD, "status": "Running", "spec": {"initContainers": "x"}}
    assert isinstance(diagnose(odd, now=NOW), Report)
    assert isinstance(diagnose({}, now=NOW), Report)


@pytest.mark.live
def test_the_root_does_not_load_the_client_for_a_pod_dict() -> None:
    probe = (
        "import sys, json, podinit_diag; "
        f"pod = json.load(open({str(CRASHLOOP / 'pod.json')!r})); "
        "r = podinit_diag.diagnose(pod); r.to_json(); "
        "print(r.findings[0].code, 'kubernetes' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.stdout.split() == ["PI101", "False"], out.stderr


def test_a_bundle_replaced_field_by_field_still_works() -> None:
    (bundle,) = podinit_diag.load_path(CRASHLOOP)
    plain = dataclasses.replace(bundle, source="")
    assert _story(diagnose(plain)) == _story(diagnose(bundle))


def test_the_dynamic_clients_objects_are_read_as_their_json() -> None:
    from kubernetes.dynamic.resource import ResourceInstance

    pod, events, logs, captured = _read(CRASHLOOP)
    want = _without_source(diagnose(pod, events=events, logs=logs, now=captured))
    instance = ResourceInstance(None, pod)
    event_list = ResourceInstance(None, json.loads((CRASHLOOP / "events.json").read_text()))
    got = diagnose(instance, events=event_list, logs=logs, now=captured)
    assert _without_source(got) == want
