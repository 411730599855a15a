"""Privilege separation for ``c2d serve`` started as root with the local engine.

The root process forks the sandbox helper (``helper.py``: the local engine, which needs root
for cgroups, mounts, loop devices and bubblewrap) and then drops to the API user
(``user.py``) to parse HTTP. The two talk over a Unix socket only the API user may open, in
length-prefixed JSON frames (``protocol.py``); the helper re-checks every request
(``checks.py``) and the API process uses it through ``RemoteEngine`` (``remote.py``).
"""
