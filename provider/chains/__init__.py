"""The chains a provider serves: their configuration, contract addresses and RPC clients."""
