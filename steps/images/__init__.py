"""Container images without Docker: pull from a registry v2, verify, unpack safely, cache.

Runs on the host, trusted, before the algorithm (docs/environments.md#images): ``reference``
parses names, ``registry`` speaks the registry API, ``unpack`` turns verified layers into a root
folder, ``cache`` keeps roots by digest. Import from the modules; this package imports nothing.
"""
