"""The context cache: ``@patterns`` in a prompt become a packed, stored, reusable context."""
