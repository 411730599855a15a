"""What an operator sees of a running provider: Prometheus metrics and structured logs."""
