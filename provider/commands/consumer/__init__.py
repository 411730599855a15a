"""The consumer's commands (``submit``, ``get``, ``list``, ``stop``; ``logs`` and ``results`` with
``--provider``): a client of any provider over its REST API, as ``argo`` is for Argo.

They import eth_account only to sign and never the engine, so ``c2d list`` starts fast.
"""
