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

"""``direct_completions``: what the completion server reads of Mistral.

Not a patch: nothing of Mistral is replaced, and the registry does not
install it. ``heat_mistral_engine.mistral.completion_server`` serves node
completions from heat-engines in Mistral's engine processes; this module
holds what that server reads of Mistral 23 and how it calls it, checked
the way the patches are (``base``): the release and
``DefaultEngine.on_action_complete``'s signature (``incompatibility``),
whether Mistral's API authenticates (``mistral_checks_identities``),
whether this process is an engine (``in_engine_process``), whether an
action execution is the node's own (``node_action_problem``, read from
Mistral's database) and the call into the engine with the API's anonymous
context (``complete_action``).
"""

from mistral_lib import actions as ml_actions
from oslo_config import cfg

from heat_mistral_engine.graph import node_action
from heat_mistral_engine.mistral.patches import base

ON_ACTION_COMPLETE_PARAMS = ('self', 'action_ex_id', 'result', 'wf_action',
                             'async_')


def incompatibility():
    """Why Mistral must not take completions from heat-engine, or None.

    ``complete_action`` calls the engine's ``on_action_complete`` as
    Mistral's own RPC server does, with the context Mistral's API gives a
    request when it checks no identity (``mistral_checks_identities`` is
    false).
    """
    problem = base.release_problem()
    if problem:
        return problem
    from mistral.engine import default_engine
    return base.signature_problem((
        (default_engine.DefaultEngine.on_action_complete,
         ON_ACTION_COMPLETE_PARAMS),))


def mistral_checks_identities():
    """True if Mistral's API authenticates callers ([pecan] auth_enable)."""
    from mistral import config as mistral_config  # noqa: F401 ([pecan])
    return bool(cfg.CONF.pecan.auth_enable)


def in_engine_process():
    """True in a Mistral engine process (one whose engine server started).

    ``EngineServer.start`` creates the system scheduler and loads the RPC
    server driver before its RPC server takes any call; this package's
    actions are loaded while such a call is handled. Other processes have
    one at most: executors and the other servers the driver, mistral-api
    the scheduler once an operator changes the maintenance mode.
    """
    from mistral.rpc import base as rpc_base
    from mistral.scheduler import base as scheduler_base
    return (scheduler_base._SCHEDULER is not None and
            rpc_base._IMPL_SERVER is not None)


def node_action_problem(action_ex_id, node):
    """Why the action execution is not ``node``'s own, or None.

    ``node`` maps ``protocol.COMPLETION_NODE`` to the node's values. Read
    from Mistral's database, under the context ``complete_action`` uses
    (which sees only the project Mistral gives a caller without identity):
    the action execution, the task execution that ran it and that task's
    workflow execution must exist, the workflow execution be of that
    project and all of them be the node's (``graph.node_action``). The
    columns read are never changed after the rows are created.
    """
    from mistral import context as auth_ctx
    from mistral.db.v2 import api as db_api
    from mistral.services import security
    auth_ctx.set_ctx(auth_ctx.MistralContext())
    try:
        with db_api.transaction(read_only=True):
            action_ex = db_api.load_action_execution(
                action_ex_id, fields=['name', 'task_execution_id', 'input'])
            if action_ex is None:
                return 'there is no action execution %s' % action_ex_id
            wf_ex = None
            if action_ex.task_execution_id:
                task_ex = db_api.load_task_execution(
                    action_ex.task_execution_id,
                    fields=['workflow_execution_id'])
                if task_ex is not None:
                    wf_ex = db_api.load_workflow_execution(
                        task_ex.workflow_execution_id,
                        fields=['workflow_name', 'workflow_namespace',
                                'project_id'])
            project = security.get_project_id()
    finally:
        auth_ctx.set_ctx(None)
    if action_ex.task_execution_id and wf_ex is None:
        return ('the task or workflow execution that ran it is not one of '
                'this project\'s')
    if wf_ex is not None and wf_ex.project_id != project:
        return 'its workflow execution belongs to another project'
    return node_action.problem(
        node, action_ex.name, action_ex.task_execution_id,
        wf_ex.workflow_name if wf_ex is not None else None,
        wf_ex.workflow_namespace if wf_ex is not None else None,
        action_ex.input)


def complete_action(action_ex_id, state, output):
    """Complete an action execution as Mistral's API does, in this engine.

    ``state`` SUCCESS (``output`` the result) or ERROR (``output`` the
    error), as the API turns ``PUT /v2/action_executions/<id>`` into a
    ``mistral_lib`` Result; the call runs under the context the API gives
    a request when Mistral checks no identity. Returns the engine's copy
    of the action execution; raises what the engine raises.
    """
    from mistral import context as auth_ctx
    from mistral.engine import default_engine
    if state == 'SUCCESS':
        result = ml_actions.Result(data=output)
    else:
        result = ml_actions.Result(error=output or 'Unknown error')
    auth_ctx.set_ctx(auth_ctx.MistralContext())
    try:
        return default_engine.DefaultEngine().on_action_complete(
            action_ex_id, result)
    finally:
        auth_ctx.set_ctx(None)
