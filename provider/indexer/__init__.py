"""The provider's own index of Ocean assets: metadata events per chain, kept in SQLite."""
