"""The platform's processes, one module each exposing ``PROCESS`` (listed by
services/processes/registry.py): thin adapters over the domain functions the CLI calls."""
