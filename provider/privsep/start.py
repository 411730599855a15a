"""``c2d serve``'s side of the split: prepare the home, fork the helper, drop to the API user,
build the services around a ``RemoteEngine``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from provider.api.deps import Services
from provider.app import build_services, load_account, load_provider_config
from provider.chains.served import served_chains
from provider.privsep.remote import RemoteEngine
from provider.privsep.split import SOCKET_PATH, HelperProcess, start_helper
from provider.privsep.user import drop_privileges, prepare_home, resolve_api_user
from provider.privsep.view import expose
from provider.settings import Settings

__all__ = ["split_services"]

_log = logging.getLogger("c2d")


def split_services(
    settings: Settings, close_in_helper: tuple[int, ...]
) -> tuple[Services, HelperProcess]:
    """As root: returns the API's services (this process is then the API user) and the
    helper. ``close_in_helper``: descriptors the helper must not keep (the HTTP socket, the
    home's lock)."""
    home = settings.home.resolve()
    config_file = settings.config.resolve() if settings.config else None
    settings = settings.model_copy(update={"home": home, "config": config_file})
    user = resolve_api_user(settings.api_user)
    load_account(settings)  # a key generated now is root's until prepare_home hands it over
    config = load_provider_config(settings)
    # Read as root: a config's address books and the dev chain's record may be root's files.
    served = served_chains(config.chains, home)
    prepare_home(home, user)
    helper = start_helper(settings, config, user, close_in_helper)
    try:
        expose([home, *_import_folders()], user)
        drop_privileges(user)
        engine = RemoteEngine(home / SOCKET_PATH)
        services = build_services(
            settings,
            config=config,
            built_engine=(engine, engine.sandbox_description),
            served=served,
        )
    except BaseException:
        # Said before the helper goes: its end makes this process stop itself (SIGTERM).
        _log.exception("the API could not start behind the privilege split")
        helper.stop()
        raise
    _log.info(
        "privilege split: HTTP API as uid %d gid %d (%s), sandbox helper pid %d as root on %s",
        os.getuid(),
        os.getgid(),
        user.name,
        helper.pid,
        home / SOCKET_PATH,
    )
    return services, helper


def _import_folders() -> list[Path]:
    """Where Python imports from (modules are imported lazily, long after the drop): the
    search path, and the folders of the packages already loaded. An editable install maps
    c2d's own packages to its checkout with an import hook, the checkout on no search path;
    from a checkout under a folder closed to the API user, ``c2d serve`` stopped at its first
    lazy import (``No module named 'provider.api.sendfile'``)."""
    entries = [entry for entry in sys.path if entry]
    for module in list(sys.modules.values()):
        spec = getattr(module, "__spec__", None)
        if spec is not None and "." not in spec.name and spec.submodule_search_locations:
            entries += list(spec.submodule_search_locations)
    folders = {Path(entry).resolve() for entry in entries if os.path.isdir(entry)}
    return sorted(folders)
