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

"""The Mistral action of operator hooks (runs in mistral-executor).

Registered as ``heat.hook_report`` (``mistral.actions`` entry point).
"""

from mistral_lib import actions
from oslo_log import log as logging

from heat_mistral_engine.graph import hook_tasks
from heat_mistral_engine.mistral import action_origin
from heat_mistral_engine.mistral import heat_rpc
from heat_mistral_engine.mistral.patches import registry
from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)

# As in ``actions``: whichever action module Mistral imports first patches.
registry.install_all()


class HookReport(actions.Action):
    """Tell heat-engine that an operator hook failed or finished.

    Sent when a hook fails, or when a node's after hooks are done;
    synchronous (only casts).

    The parameters are those of ``protocol.HookReport``; heat-engine checks
    the token and the receipt, fails the stack with the hook's message, or
    completes the node in Heat (see ``heat.hook_reports``).
    ``resource_name`` is ignored: workflows compiled before tasks stopped
    carrying it (template text) may still give it while they run.

    Like ``heat.run_node``, it casts only as a task of the workflow
    execution that heat-engine generated for the stack and traversal of
    its input (``action_origin``); otherwise it fails with the reason.
    """

    def __init__(self, stack_id, traversal, token, resource_id, is_update,
                 resource_name=None, hook=None, workflow=None, when=None,
                 action=None, timeout=None, error=None, receipt=None,
                 details=None):
        super().__init__()
        self.fields = dict(
            stack_id=stack_id, traversal=traversal, token=token,
            resource_id=resource_id, is_update=is_update,
            hook=hook, workflow=workflow,
            when=when, action=action, timeout=timeout, error=error,
            receipt=receipt, details=details)

    def run(self, context):
        refused = action_origin.check(
            hook_tasks.REPORT_ACTION, context, self.fields['stack_id'],
            self.fields['traversal'])
        if refused:
            return actions.Result(error=refused)
        report = protocol.hook_report(**self.fields)
        heat_rpc.cast_hook_report(report)
        LOG.info('Reported operator hook %(hook)s of resource %(rid)s of '
                 'Heat stack %(stack)s traversal %(trav)s to heat-engine: '
                 '%(what)s [execution %(wf)s, task %(task)s]',
                 {'hook': self.fields['hook'] or '(all)',
                  'rid': self.fields['resource_id'],
                  'stack': self.fields['stack_id'],
                  'trav': self.fields['traversal'],
                  'what': 'failed' if self.fields['hook'] else 'done',
                  'wf': context.execution.workflow_execution_id,
                  'task': context.execution.task_execution_id})
        return None
