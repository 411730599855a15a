"""Access services: a consumer who ordered a dataset's access service downloads its files."""
