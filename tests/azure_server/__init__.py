"""A strict contract-test server for the Azure Resource Manager management plane.

No emulator of ARM exists that can be run offline, so this server stands in for it in
tests: it validates every request body against Azure's published OpenAPI documents (the
trimmed copies under schemas/, each naming the spec file and commit it came from) and
models what a client depends on: the api-version and Authorization checks, PUT as an
idempotent create-or-update, long-running operations that take a few polls (with the
Azure-AsyncOperation or Location style of each resource provider), resource group
deletion that takes everything in it, paged lists that must be followed by nextLink,
and ARM's error bodies. Run it as `python -m azure_server --host 127.0.0.1 --port 0` from
the tests/ directory; its first stdout line names the bound port.
"""
