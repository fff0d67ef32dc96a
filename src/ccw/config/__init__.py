"""Providers, endpoints and cache settings: the spec's JSON file, validated and safely saved."""
