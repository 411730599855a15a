"""Who is asking: request signatures, per-address nonces and auth tokens."""
