"""The warm path: a running ``ccw serve`` answers ``ccw cli`` over a Unix socket.

Importing LiteLLM costs a call seconds; a server that keeps it imported runs the call and
streams its events back (``client``, ``server``, ``protocol``). Nothing about a call changes
but where it runs: the caller's config, patterns, cache, history and ``${VAR}`` values.
"""
