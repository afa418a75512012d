"""A strict contract-test server for the Google Cloud APIs overcast's GCP provider uses.

No emulator exists for Compute Engine or the Cloud SQL Admin API, so this server stands in
for them in tests: it validates every request body against Google's own discovery
documents (shipped in the pinned google-api-python-client) and models the lifecycle the
provider depends on (long-running operations, fingerprints, in-use checks, requestId
idempotency). Run it as `python -m gcp_server --host 127.0.0.1 --port 0` from the tests/
directory; its first stdout line names the bound port.
"""
