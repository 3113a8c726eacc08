"""Built-in demo scenarios for ``initdoctor --demo``: bundles served by the test API server.

Each directory is a bundle captured the way ``--save`` writes them; the number orders
them, the rest of the name is what goes wrong. The demo runs the normal live code path
against them (kubeconfig, TLS, token, raw GETs), judging each pod at its capture time.
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent

TITLES = {
    "1-init-crashloop": "An init container in CrashLoopBackOff (a failing migration)",
    "2-init-waits-for-missing-service": "An init container waiting for a Service that is not there",
    "3-image-pull-unauthorized": "An image from a private registry, without imagePullSecrets",
    "4-missing-secret-key": "A Secret key that does not exist",
    "5-init-oomkilled": "An init container killed for exceeding its memory limit",
    "6-unschedulable-init-request": "Unschedulable because of an init container's request",
    "7-healthy": "A healthy pod",
}


def scenario_dirs() -> list[Path]:
    return sorted(d for d in DEMO_DIR.iterdir() if d.is_dir() and (d / "pod.json").is_file())
