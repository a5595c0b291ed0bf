"""Serve heat-api (``heat.wsgi.api:application``) from a threaded server.

Heat 27 ships no ``heat-api`` console script, only the WSGI application.
Its pbr ``heat-wsgi-api`` dev server is a single-threaded wsgiref server,
which deadlocks as soon as heat-engine calls back into heat-api while
heat-api waits on heat-engine (SoftwareDeployment attributes,
OS::Heat::Stack, ...). This one serves every request in its own daemon
thread.

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
import socketserver
import sys
from wsgiref import simple_server


class ThreadingWSGIServer(socketserver.ThreadingMixIn,
                          simple_server.WSGIServer):
    # Daemon threads: a hung request must not keep the process alive on
    # SIGTERM. Address reuse: restart right after stop without TIME_WAIT.
    daemon_threads = True
    allow_reuse_address = True
    # The default backlog of 5 drops connections when tests fire many
    # requests at once.
    request_queue_size = 128


class RequestHandler(simple_server.WSGIRequestHandler):
    def address_string(self):
        # Never do reverse DNS on the client address.
        return self.client_address[0]


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='Threaded WSGI server for heat.wsgi.api:application',
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
    """Serve ``application`` on host:port until interrupted.

    Shared with keystone_wsgi.py.
    """
    server = simple_server.make_server(
        host, port, application,
        server_class=ThreadingWSGIServer, handler_class=RequestHandler)
    print('%s listening on http://%s:%d/' % (name, host, port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == '__main__':
    main()
