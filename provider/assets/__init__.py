"""Assets: Ocean DDO models, the resolvers that find them, and the pure permission policy."""
