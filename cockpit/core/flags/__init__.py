"""Feature flags, flipped through the flag service's own API."""
