"""The development subcommands of ``c2d`` (demo, chain, publish), same shape as
provider.commands; provider/commands/__init__.py lists them by module path."""
