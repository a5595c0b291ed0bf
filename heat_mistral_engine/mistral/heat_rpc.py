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

"""Cast node requests from mistral-executor to the heat-engines.

One RPC client per process, created on first use from mistral.conf
(``[heat_mistral_engine]``). The cast goes to Heat's exchange on the
configured topic without a server, so the broker hands it to one engine.
"""

import threading

import oslo_messaging
from oslo_config import cfg

from heat_mistral_engine.mistral import options
from heat_mistral_engine import protocol

_lock = threading.Lock()
_transport = None
_client = None


def transport(conf=cfg.CONF):
    """This process's transport to Heat's broker, created on first use."""
    global _transport
    with _lock:
        if _transport is None:
            options.register_opts(conf)
            _transport = oslo_messaging.get_rpc_transport(
                conf, url=conf[options.GROUP].transport_url)
        return _transport


def _get_client(conf=cfg.CONF):
    global _client
    heat_transport = transport(conf)
    with _lock:
        if _client is None:
            group = conf[options.GROUP]
            target = oslo_messaging.Target(
                exchange=group.heat_exchange, topic=group.rpc_topic,
                version=protocol.RPC_API_VERSION)
            _client = oslo_messaging.get_rpc_client(heat_transport, target)
        return _client


def cast_run_node(request):
    """Send a validated node request (``protocol.node_request``)."""
    _get_client().cast({}, protocol.RPC_METHOD, request=request)


def cast_hook_report(report):
    """Send a validated hook report (``protocol.hook_report``)."""
    _get_client().prepare(version=protocol.HOOK_RPC_API_VERSION).cast(
        {}, protocol.HOOK_REPORT_METHOD, report=report)
