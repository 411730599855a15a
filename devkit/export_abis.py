"""Write the ABIs the provider ships (provider/chain/abi/) from js/node_modules' artifacts.

Run after bumping ``@oceanprotocol/contracts`` in js/package.json: ``python -m devkit.export_abis``.
"""

from __future__ import annotations

import json

from devkit.artifacts import contracts_version, load_artifact
from provider.chain.abi import ABI_DIR, PROVIDER_CONTRACTS

__all__ = ["export_abis"]

_SOURCE = """# Where these ABIs come from

The `abi` member of the Hardhat artifacts in the npm package `@oceanprotocol/contracts`,
version {version} (js/package.json), for the contracts the provider calls at run time:
{names}.
ABIs only, no bytecode: they are the contracts' public interface.

Regenerate after a version bump with `python -m devkit.export_abis` (needs `npm ci` in js/);
tests/chain/test_abi_package.py checks they match js/node_modules.
"""


def export_abis() -> None:
    for name in PROVIDER_CONTRACTS:
        abi = load_artifact(name).abi
        (ABI_DIR / f"{name}.json").write_text(json.dumps(abi, indent=1, sort_keys=True) + "\n")
    names = ", ".join(PROVIDER_CONTRACTS)
    (ABI_DIR / "SOURCE.md").write_text(_SOURCE.format(version=contracts_version(), names=names))


if __name__ == "__main__":
    export_abis()
