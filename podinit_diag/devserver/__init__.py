"""The read-only Kubernetes API server that ``--demo``, ``--serve`` and the tests run on
loopback, its replayed incidents and the demo scenarios. Never imported by the library: the
CLI loads it lazily. May import the engine, rules and core; ``cryptography`` is confined to
``apiserver``."""
