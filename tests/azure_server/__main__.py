"""`python -m azure_server --host 127.0.0.1 --port 0`: serve until killed.

The first stdout line is `Running on http://<host>:<port>` with the port actually bound,
so a caller passing port 0 learns it without racing another process for a free port.
"""

import argparse
import sys

from .server import App, serve
from .storage import AZURITE_KEY


def main(argv=None):
    p = argparse.ArgumentParser(prog="azure_server", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--polls", type=int, default=2, help="reads a long-running operation answers as running (default 2)")
    p.add_argument("--page-size", type=int, default=5, help="items per list page before a nextLink (default 5)")
    p.add_argument("--storage-key", default=AZURITE_KEY,
                   help="the key storage accounts' listKeys returns (default: Azurite's devstoreaccount1 key)")
    p.add_argument("--blob-endpoint", help="primaryEndpoints.blob of every storage account, e.g. "
                   "http://127.0.0.1:10000/devstoreaccount1 ({name} is replaced by the account name)")
    p.add_argument("--queue-endpoint", help="primaryEndpoints.queue, likewise")
    args = p.parse_args(argv)
    if args.polls < 0:
        p.error("--polls must be >= 0")
    if args.page_size < 1:
        p.error("--page-size must be >= 1")
    app = App(polls=args.polls, page_size=args.page_size, storage_key=args.storage_key,
              blob_endpoint=args.blob_endpoint, queue_endpoint=args.queue_endpoint)
    httpd = serve(args.host, args.port, app)
    host, port = httpd.server_address[:2]
    print(f"Running on http://{host}:{port}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
