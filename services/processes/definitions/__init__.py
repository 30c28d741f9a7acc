"""The processes, one module each exposing ``PROCESS`` (services/processes/base.py): thin
adapters over the domain functions the CLI calls."""
