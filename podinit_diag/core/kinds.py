"""kubectl's names for the kinds initdoctor takes as targets (``pod/web``, ``deploy web``,
``statefulsets.apps/db``): short, singular and plural names, and ``plural.group``. One
table for the CLI, which reads targets before any connection, and for the sources, which
resolve a workload's pods."""

from __future__ import annotations

ALIASES: dict[str, tuple[str, ...]] = {
    "Pod": ("po", "pod", "pods"),
    "Deployment": ("deploy", "deployment", "deployments", "deployments.apps"),
    "StatefulSet": ("sts", "statefulset", "statefulsets", "statefulsets.apps"),
    "DaemonSet": ("ds", "daemonset", "daemonsets", "daemonsets.apps"),
    "ReplicaSet": ("rs", "replicaset", "replicasets", "replicasets.apps"),
    "Job": ("job", "jobs", "jobs.batch"),
    "CronJob": ("cj", "cronjob", "cronjobs", "cronjobs.batch"),
}
# a name as typed (lower case) -> its kind
BY_NAME = {alias: kind for kind, aliases in ALIASES.items() for alias in aliases}


def short_names(kind: str) -> tuple[str, ...]:
    """The kind's names without a group: what help and completion offer."""
    return tuple(a for a in ALIASES[kind] if "." not in a)
