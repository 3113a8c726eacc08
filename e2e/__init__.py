"""End-to-end tests against a real control plane built from Go modules (``nox -s e2e``)."""
