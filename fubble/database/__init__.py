"""Compatibility package for the original product's ``python3 -m fubble.database.setup`` command."""
