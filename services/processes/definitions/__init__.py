"""The processes, one module each, every one exposing ``PROCESS`` (services/processes/base.py)."""
