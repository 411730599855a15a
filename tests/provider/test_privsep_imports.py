"""What the API process keeps reaching after the privilege drop: where its code is imported from."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
from pathlib import Path
import provider
from provider.privsep.start import _import_folders
checkout = Path(provider.__file__).resolve().parent
assert str(checkout.parent) not in sys.path, sys.path  # only the install's import hook finds it
print(checkout in _import_folders())
"""


def test_the_packages_of_an_editable_install_are_among_the_import_folders() -> None:
    # The console script (``c2d serve``) runs with the checkout on no search path: an editable
    # install finds c2d's packages through an import hook. Their folders were not exposed, and
    # from a checkout under a folder closed to the API user the server stopped at its first
    # lazy import after the drop.
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd="/", capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
