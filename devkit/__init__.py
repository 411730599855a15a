"""Development tooling around the provider: the dev chain (anvil and the Ocean contracts),
publishing, the consumer side of an order, the demo, and the HTTP client and launcher the demo
and the tests drive a provider with. devkit may import provider; provider never imports devkit
(its command table names devkit's commands by module path: docs/design.md#layering)."""
