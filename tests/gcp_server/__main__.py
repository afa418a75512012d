"""`python -m gcp_server --host 127.0.0.1 --port 0`: serve until killed.

The first stdout line is `Running on http://<host>:<port>` with the port actually bound,
so a caller passing port 0 learns it without racing another process for a free port.
"""

import argparse
import sys

from .server import App, serve


def main(argv=None):
    p = argparse.ArgumentParser(prog="gcp_server", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--polls", type=int, default=2, help="reads an operation answers as not DONE (default 2)")
    p.add_argument("--discovery-dir", help="directory of compute.v1.json and sqladmin.v1.json "
                   "(default: google-api-python-client's copies)")
    p.add_argument("--images-toml", help="the image catalog (default: providers/core/catalog/images.toml)")
    args = p.parse_args(argv)
    if args.polls < 0:
        p.error("--polls must be >= 0")
    app = App(polls=args.polls, documents=args.discovery_dir, images_toml=args.images_toml)
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
