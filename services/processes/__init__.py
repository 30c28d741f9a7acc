"""OGC API – Processes: the platform's analyses as processes, run synchronously or as
durable jobs in worker processes (docs/processes.md)."""
