"""The chain edge: the dev chain (anvil + Ocean contracts), contract access, orders and escrow."""
