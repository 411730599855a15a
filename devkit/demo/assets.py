"""The demo's data and algorithm: a generated CSV, a statistics algorithm, and their DDOs."""

from __future__ import annotations

import json
import random
import secrets
from pathlib import Path
from typing import Any

from provider.assets.ddo import did_for

__all__ = [
    "ALGORITHM_CODE",
    "CONTAINER",
    "UNTRUSTED_CODE",
    "algorithm_ddo",
    "dataset_ddo",
    "save",
    "write_csv",
]

CHAIN_ID = 8996
CONTAINER = {"entrypoint": "python3 $ALGO", "image": "python", "tag": "3.11", "checksum": ""}

# Per-column statistics with the standard library only: a person can check them against the CSV.
ALGORITHM_CODE = """\
import csv, json, os, statistics
from pathlib import Path

inputs = Path(os.environ["INPUTS"])
files = sorted(p for p in inputs.rglob("*") if p.is_file() and p.name != "algoCustomData.json")
report = {}
for path in files:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = {}
    for name in rows[0].keys():
        values = [float(row[name]) for row in rows]
        columns[name] = {
            "count": len(values),
            "mean": round(statistics.fmean(values), 4),
            "min": min(values),
            "max": max(values),
            "stdev": round(statistics.stdev(values), 4),
        }
    report[str(path.relative_to(inputs))] = columns
    print(f"{path.name}: {len(rows)} rows, {len(columns)} columns")
Path(os.environ["OUTPUTS"], "stats.json").write_text(json.dumps(report, indent=2))
print("wrote stats.json")
"""

UNTRUSTED_CODE = (
    "print(open('/data/inputs/' + __import__('os').listdir('/data/inputs')[0] + '/0').read())"
)


def write_csv(path: Path, rows: int = 200, seed: int = 7) -> None:
    generator = random.Random(seed)  # noqa: S311 - demo data, not secrets
    lines = ["temperature,humidity,wind"]
    for _ in range(rows):
        lines.append(
            f"{generator.gauss(15, 6):.2f},{generator.uniform(20, 95):.1f},"
            f"{abs(generator.gauss(12, 5)):.1f}"
        )
    path.write_text("\n".join(lines) + "\n")


def _random_address() -> str:
    return "0x" + secrets.token_hex(20)


def algorithm_ddo(code_url: str, publisher: str) -> dict[str, Any]:
    nft = _random_address()
    return {
        "@context": ["https://w3id.org/did/v1"],
        "id": did_for(nft, CHAIN_ID),
        "version": "4.1.0",
        "chainId": CHAIN_ID,
        "nftAddress": nft,
        "metadata": {
            "type": "algorithm",
            "name": "Column statistics",
            "description": "count, mean, min, max and standard deviation of every column",
            "author": "c2d demo",
            "license": "Apache-2.0",
            "algorithm": {"language": "python", "version": "1.0", "container": dict(CONTAINER)},
        },
        "services": [
            {
                "id": "compute",
                "type": "compute",
                "files": {"files": [{"type": "url", "url": code_url, "method": "GET"}]},
                "datatokenAddress": _random_address(),
                "serviceEndpoint": "http://127.0.0.1",
                "timeout": 0,
            }
        ],
        "nft": {"owner": publisher, "state": 0},
    }


def dataset_ddo(
    data_url: str, *, trusted_did: str, files_checksum: str, container_checksum: str, publisher: str
) -> dict[str, Any]:
    """A compute-only dataset that trusts exactly one algorithm (by DID, files and container)."""
    nft = _random_address()
    return {
        "@context": ["https://w3id.org/did/v1"],
        "id": did_for(nft, CHAIN_ID),
        "version": "4.1.0",
        "chainId": CHAIN_ID,
        "nftAddress": nft,
        "metadata": {
            "type": "dataset",
            "name": "Weather station readings",
            "description": "200 hourly readings; compute-only: the rows never leave this machine",
            "author": "c2d demo",
            "license": "CC0",
        },
        "services": [
            {
                "id": "compute",
                "type": "compute",
                "files": {"files": [{"type": "url", "url": data_url, "method": "GET"}]},
                "datatokenAddress": _random_address(),
                "serviceEndpoint": "http://127.0.0.1",
                "timeout": 0,
                "compute": {
                    "allowRawAlgorithm": False,
                    "allowNetworkAccess": False,
                    "publisherTrustedAlgorithmPublishers": [],
                    "publisherTrustedAlgorithms": [
                        {
                            "did": trusted_did,
                            "filesChecksum": files_checksum,
                            "containerSectionChecksum": container_checksum,
                        }
                    ],
                },
            }
        ],
        "nft": {"owner": publisher, "state": 0},
    }


def save(ddo: dict[str, Any], folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(ddo, indent=2))
