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

"""Mistral actions shipped by heat-mistral-engine (run in mistral-executor).

Registered with Mistral through the ``mistral.actions`` entry point group.
"""

from mistral_lib import actions
from oslo_log import log as logging

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.mistral import action_origin
from heat_mistral_engine.mistral import completion_server
from heat_mistral_engine.mistral import heat_rpc
from heat_mistral_engine.mistral.patches import registry
from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)

# Mistral imports this module (its action plugin) in every Mistral process
# on first use; that is the only hook this package gets into Mistral's
# engine.
registry.install_all()
completion_server.start()


class RunNode(actions.Action):
    """Hand one Heat resource node to a heat-engine; asynchronous.

    ``run`` only casts the node to the heat-engines and returns, so no
    executor thread is held while the resource takes minutes. The engine
    that runs the node completes this action execution, through a Mistral
    engine directly (``completion_server``) or Mistral's API: SUCCESS with
    the node's sealed receipt (the task publishes it for its dependents),
    or ERROR with Heat's failure reason.

    It casts only when Mistral runs it as a task of the workflow execution
    that heat-engine generated for the stack and traversal of its input
    (``action_origin``); otherwise the action execution ends ERROR with
    the reason at once, and no heat-engine hears of it.

    :param stack_id: the stack.
    :param traversal: the traversal the workflow was compiled for.
    :param resource_id: the resource row of the node.
    :param is_update: True for create/update, False for cleanup.
    :param token: the sealed traversal token from the workflow input.
    :param data: sealed receipts of the predecessors, by
        ``protocol.data_key``; Mistral cannot read or forge them.
    :param resource_name: ignored; workflows compiled before tasks stopped
        carrying the resource's name (template text, which Mistral would
        evaluate) may still give it while they run.
    """

    def __init__(self, stack_id, traversal, resource_id, is_update, token,
                 data=None, resource_name=None):
        super().__init__()
        self.stack_id = stack_id
        self.traversal = traversal
        self.resource_id = resource_id
        self.is_update = is_update
        self.token = token
        self.data = data or {}

    def run(self, context):
        refused = action_origin.check(workflow.ACTION, context, self.stack_id,
                                      self.traversal)
        if refused:
            return actions.Result(error=refused)
        # Also here: in an engine process that loaded the actions before
        # its engine server started, the first node it runs starts it.
        completion_server.start()
        request = protocol.node_request(
            action_execution_id=context.execution.action_execution_id,
            stack_id=self.stack_id, traversal=self.traversal,
            resource_id=self.resource_id, is_update=self.is_update,
            data=self.data, token=self.token,
            completion_topic=completion_server.advertised_topic())
        heat_rpc.cast_run_node(request)
        # INFO, once per node: the only line in mistral.log that joins
        # Mistral's ids (execution, task, action execution) with Heat's
        # (stack, traversal, resource); heat-engine logs the same action
        # execution id when the node starts and ends.
        execution = context.execution
        LOG.info('Handed node (resource %(rid)s, %(kind)s) of Heat '
                 'stack %(stack)s traversal %(trav)s to heat-engine '
                 '[execution %(wf)s, task %(task)s, action execution '
                 '%(ax)s]',
                 {'rid': self.resource_id,
                  'kind': protocol.node_kind(self.is_update),
                  'stack': self.stack_id, 'trav': self.traversal,
                  'wf': execution.workflow_execution_id,
                  'task': execution.task_execution_id,
                  'ax': execution.action_execution_id})
        return None

    def is_sync(self):
        return False
