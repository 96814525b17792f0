"""Fake-but-real executables for what cannot run here (see each file's header)."""
