"""Serve Keystone's public API from cheroot, as heat-api is served.

Keystone ships its WSGI application (``keystone.wsgi.api:application``),
no server. Its config files come from the environment
(``OS_KEYSTONE_CONFIG_FILES``, read when the module is imported), so this
takes ``--config-file`` like the other devcloud processes (devcloud tells
its processes apart by that path on their command line) and exports it
before the import.

Usage::

    python keystone_wsgi.py [--host 127.0.0.1] [--port 5000] \\
        --config-file keystone.conf
"""

import argparse
import os
import sys

import heat_api_wsgi


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='cheroot WSGI server for keystone.wsgi.api:application')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=5000)
    parser.add_argument('--config-file', required=True)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ['OS_KEYSTONE_CONFIG_FILES'] = args.config_file
    # Keystone's application also parses sys.argv: leave it nothing to
    # misread.
    sys.argv[1:] = []
    from keystone.wsgi import api  # noqa: E402 - must follow the environment

    heat_api_wsgi.serve(api.application, args.host, args.port, 'keystone')


if __name__ == '__main__':
    main()
