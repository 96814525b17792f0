"""The cockpit's functional core: no Textual imports here (tests/test_import_hygiene.py enforces it)."""
