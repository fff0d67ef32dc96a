"""ccw: turn a prompt with @file patterns into a well-packed, cached LLM call on any provider."""

__version__ = "0.1.0"
