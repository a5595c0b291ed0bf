#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""A TCP proxy in front of the message broker that a test can cut.

One heat-engine of the test cloud is given a ``transport_url`` through
this proxy (its own ``etc/heat-engine-N.conf.d``): ``cut`` closes every
connection it carries and refuses new ones, so that engine alone is cut
off from RabbitMQ while it still reaches the database and Mistral's API;
``heal`` lets it connect again. The proxy listens on a port the system
chooses (no fixed port of another cloud is taken) and keeps it across
cuts.
"""

import socket
import threading


class BrokerProxy:
    """Forwards 127.0.0.1:<port> to ``target`` until ``cut``; thread-safe.

    :param target: (host, port) of the broker.
    """

    def __init__(self, target):
        self.target = target
        self.port = None
        self._listener = None
        self._conns = set()
        self._lock = threading.Lock()
        self.connections = 0      # accepted since the start, for logs

    def open(self):
        """Listen (again, on the same port once chosen); returns the port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('127.0.0.1', self.port or 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,),
                         daemon=True).start()
        return self.port

    heal = open

    def cut(self):
        """Close every carried connection and stop listening."""
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, set()
        if listener is not None:
            _close(listener)
        for conn in conns:
            _close(conn)

    def _accept(self, listener):
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return          # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:
                    # Cut while this one was being set up.
                    _close(client)
                    _close(upstream)
                    return
                self._conns.update((client, upstream))
                self.connections += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink),
                                 daemon=True).start()

    def _pump(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(source)
                self._conns.discard(sink)
            _close(source)
            _close(sink)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
