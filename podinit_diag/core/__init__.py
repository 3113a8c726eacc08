"""The pure core: the model, normalization, kubectl's STATUS, timelines, the scan summary,
time, quantities, exit codes and redaction. Standard library only; no I/O, clock or
environment, so everything here works offline and in any interpreter."""
