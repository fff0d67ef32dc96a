"""The local dashboard: a JSON API under ``/api/litellm-api`` and a static page at ``/``."""
