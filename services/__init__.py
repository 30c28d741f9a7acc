"""The outside of the platform: HTTP app, OGC APIs, CLI. Nothing imports this package."""
