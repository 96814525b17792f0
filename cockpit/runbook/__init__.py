"""The runbook: its TOML model (config), the outline the first paint draws from, and the small
helpers every layer above uses (durations, placeholders, safe text). Imports nothing of the core."""
