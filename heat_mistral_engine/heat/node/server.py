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

"""The RPC server through which Mistral actions reach heat-engine.

Started in every engine worker after Heat's own worker service (see
``startup.wiring``), on Heat's transport and exchange. Its target has the
engine as server and the configured topic, so a cast to the topic alone
reaches one engine of the deployment: resource nodes spread over all
engines.
"""

import time

import oslo_messaging
from heat.common import messaging as heat_messaging
from oslo_config import cfg
from oslo_log import log as logging

from heat_mistral_engine import config
from heat_mistral_engine.heat.node import hook_reports
from heat_mistral_engine.heat.node import log
from heat_mistral_engine.heat.traversal import handover_delays
from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)


class NodeEndpoint:
    """oslo.messaging endpoint; one method per protocol RPC method."""

    target = oslo_messaging.Target(version=protocol.HOOK_RPC_API_VERSION)

    def __init__(self, nodes):
        self.admission = nodes      # an admission.Admission

    def run_node(self, ctxt, request=None):
        """Run one node; the caller does not wait (cast).

        Returns once the node ended, or at once if it waits for a slot of
        its traversal (see ``admission``). Never raises: a message that is
        not a valid request is refused in the log only (Mistral is told of
        a refusal only for a request whose token verifies, see ``runner``).
        """
        try:
            parsed = protocol.NodeRequest.from_dict(request)
        except protocol.BadNodeRequest as exc:
            self._refuse(request, exc)
            return
        began = time.monotonic()

        # Here rather than in the runner: every node, refused, run or
        # parked, gets exactly one end line, whatever path it took.
        def finished(outcome):
            log.finished(parsed, outcome, time.monotonic() - began)

        handover_delays.pause('node server: before running a node')
        self.admission.submit(parsed, finished)

    def hook_report(self, ctxt, report=None):
        """An operator hook failed or a node's after hooks are done (cast).

        Since RPC API 1.1. Never raises; see ``hook_reports``.
        """
        try:
            parsed = protocol.HookReport.from_dict(report)
        except protocol.BadNodeRequest as exc:
            LOG.error('Refused a malformed operator hook report: %s', exc)
            return
        hook_reports.handle(self.admission.runner, parsed)

    @staticmethod
    def _refuse(request, exc):
        # Logged only: a message that does not parse has no verified
        # token, so the action execution it names may be anyone's (a
        # request Mistral really sent is found again by the watchdog).
        action_ex = (request.get('action_execution_id')
                     if isinstance(request, dict) else None)
        LOG.error('Refused a malformed node request [action execution %s, '
                  'not told]: %s', protocol.short(action_ex), exc)


def start_node_server(worker, nodes, conf=cfg.CONF):
    """Serve node requests and hook reports for a started ``WorkerService``.

    ``nodes`` is the worker's ``admission.Admission``, through which every
    node request runs. Returns the started oslo.messaging server, also
    kept as ``worker._hme_node_server``.
    """
    config.register_opts(conf)
    target = oslo_messaging.Target(
        topic=conf[config.GROUP].rpc_topic, server=worker.engine_id,
        version=protocol.RPC_API_VERSION)
    server = heat_messaging.get_rpc_server(target, NodeEndpoint(nodes))
    server.start()
    worker._hme_node_server = server
    LOG.info('heat-mistral-engine node server listening on topic %s in '
             'engine %s', target.topic, worker.engine_id)
    return server
