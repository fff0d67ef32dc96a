"""Token counts: estimated from bytes by default, exact with LiteLLM's bundled tokenizers.

Exact counting imports litellm lazily, only when asked for, and caches counts by content
hash so that an unchanged file is never counted twice.
"""

from __future__ import annotations

from collections.abc import Callable

BYTES_PER_TOKEN = 4
DEFAULT_MODEL = "gpt-4o"


def estimate(size: int) -> int:
    """About four bytes per token for source code and prose."""
    return (size + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN


class TokenCounter:
    """Counts tokens of file contents; ``known`` maps content hash to an exact count."""

    def __init__(self, mode: str, model: str | None, known: dict[str, int] | None = None) -> None:
        if mode not in ("estimate", "exact"):
            raise ValueError(f"unknown token mode {mode!r}")
        self.exact = mode == "exact"
        self.model = model or DEFAULT_MODEL
        self.known = dict(known or {})
        self.new: dict[str, int] = {}
        self._counter: Callable[..., int] | None = None

    def count(self, data: bytes, digest: str | None) -> int:
        if not self.exact:
            return estimate(len(data))
        if digest is not None and digest in self.known:
            return self.known[digest]
        if self._counter is None:
            from litellm import token_counter

            self._counter = token_counter
        tokens = int(self._counter(model=self.model, text=data.decode("utf-8")))
        if digest is not None:
            self.known[digest] = tokens
            self.new[digest] = tokens
        return tokens
