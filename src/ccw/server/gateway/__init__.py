"""The OpenAI- and Anthropic-compatible gateway on ``ccw serve``'s HTTP port (``/v1``).

Every call goes through the executor seam (``ccw.exec.router``): routing, keys, fallbacks
and the history, as ``ccw cli`` does; only the wire format differs.
"""
