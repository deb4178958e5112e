"""Optimization passes. ``registry.PASSES`` is the only list of them."""
