"""Route modules, one per group of the Ocean Node API."""
