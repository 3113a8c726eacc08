"""Where pods come from: saved files and bundles, the cluster connection, one pod's fetch,
workloads, scans and ``--wait``. May import the engine, rules and core; each third-party
dependency is confined to one module (PyYAML to ``files``, the kubernetes client and urllib3
to ``cluster``)."""
