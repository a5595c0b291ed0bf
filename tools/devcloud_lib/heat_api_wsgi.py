"""Serve heat-api (``heat.wsgi.api:application``) from cheroot.

Heat 27 ships no ``heat-api`` console script, only the WSGI application.
Its pbr ``heat-wsgi-api`` dev server is a single-threaded wsgiref server,
which deadlocks as soon as heat-engine calls back into heat-api while
heat-api waits on heat-engine (SoftwareDeployment attributes,
OS::Heat::Stack, ...). This serves it from cheroot, CherryPy's production
WSGI server, which Mistral 23 serves its own API with (so it is in the
venv already): a pool of ``THREADS`` worker threads, HTTP/1.1 keep-alive
connections parked off the pool while idle.

Usage::

    python heat_api_wsgi.py [--host 127.0.0.1] [--port 8004] \\
        -- --config-file heat.conf --config-dir heat.conf.d

How the application finds its configuration: importing
``heat.wsgi.api`` calls ``heat.api.openstack.wsgi.init_application()``,
which runs ``cfg.CONF(project='heat', prog='heat-api')`` with no explicit
args, so oslo.config parses ``sys.argv[1:]``; without ``--config-file`` it
falls back to ``~/.heat/heat.conf``, ``/etc/heat/heat.conf`` and
``heat-api.conf`` beside them. There is no environment variable for it.
So everything after ``--`` becomes ``sys.argv[1:]`` before the import.
"""

import argparse
import sys

from cheroot import wsgi

# Worker threads. A request may wait on heat-engine (RPC) while heat-engine
# calls back into heat-api (nested stacks, SoftwareDeployment), so each
# waiting request needs a thread of its own for the call back: the
# functional tests run a few dozen requests at once.
THREADS = 64
# The listen backlog (the socket default of 5 drops connections when
# tests fire many requests at once).
BACKLOG = 128


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='cheroot WSGI server for heat.wsgi.api:application',
        usage='%(prog)s [--host IP] [--port PORT] -- [heat options]')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8004)
    parser.add_argument('heat_args', nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.heat_args and args.heat_args[0] == '--':
        args.heat_args.pop(0)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # heat-api parses sys.argv[1:] when its module is imported.
    sys.argv[1:] = args.heat_args
    from heat.wsgi import api  # noqa: E402 - must follow the argv rewrite

    serve(api.application, args.host, args.port, 'heat-api')


def serve(application, host, port, name):
    """Serve ``application`` on host:port until interrupted or killed.

    Shared with keystone_wsgi.py.
    """
    server = wsgi.Server((host, port), application, numthreads=THREADS,
                         server_name=name, request_queue_size=BACKLOG)
    server.prepare()   # binds: the port is taken once this returns
    print('%s listening on http://%s:%d/ (cheroot, %d threads)'
          % (name, host, port, THREADS), flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == '__main__':
    main()
