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

"""``async_heartbeats_off``: no heartbeats for asynchronous actions.

Mistral 23's executor registers every action it runs for heartbeats
(``action_heartbeat_sender.add_action``), which sends one RPC to the
engine and makes the engine write ``last_heartbeat`` in a transaction of
its own, and that for an asynchronous action such as ``heat.run_node``
too, whose ``run`` returns at once. Nothing ever reads those heartbeats:
the checker only looks at synchronous actions
(``get_running_expired_sync_action_executions`` filters on ``is_sync``),
and the sender forgets an action as soon as its ``run`` returns. The
patch makes ``DefaultExecutor.run_action`` run this package's own
asynchronous actions (``base.own_action`` and ``is_sync()`` False) without
registering them; synchronous actions (operator hook workflows' actions,
for example), and every action that is not this package's, keep their
heartbeats (``OWN_ACTIONS_ONLY``: other projects' asynchronous actions
keep the ``last_heartbeat`` Mistral's execution report shows).
"""

import functools

from heat_mistral_engine.mistral.patches import base

RUN_ACTION_PARAMS = ('self', 'action', 'action_ex_id', 'safe_rerun',
                     'exec_ctx', 'redelivered', 'target', 'async_',
                     'timeout')
DO_RUN_ACTION_PARAMS = ('self', 'action', 'action_ex_id', 'exec_ctx',
                        'redelivered', 'safe_rerun', 'timeout')


class AsyncHeartbeatsOff(base.Patch):
    option = 'async_heartbeats_off'
    sharing = base.OWN_ACTIONS_ONLY
    left_alone = 'Mistral\'s executor as it is'
    cost = 'each task still sends an unused heartbeat'
    applied = ('Mistral\'s executor runs asynchronous actions without '
               'heartbeats nobody reads')

    def installed(self):
        from mistral.executors import default_executor
        return bool(getattr(default_executor.DefaultExecutor.run_action,
                            '_hme_original', None))

    def mistral_problem(self):
        from mistral.executors import default_executor
        from mistral.services import action_heartbeat_sender
        executor = default_executor.DefaultExecutor
        problem = base.signature_problem((
            (base.original(executor.run_action), RUN_ACTION_PARAMS),))
        if problem:
            return problem
        inner = getattr(executor, '_do_run_action', None)
        if inner is None or base.signature_problem((
                (inner, DO_RUN_ACTION_PARAMS),)):
            return ('DefaultExecutor._do_run_action is not the expected %s'
                    % (DO_RUN_ACTION_PARAMS,))
        if not hasattr(action_heartbeat_sender, 'add_action'):
            return 'action_heartbeat_sender.add_action is gone'
        return None

    def apply(self):
        from mistral.executors import default_executor
        executor = default_executor.DefaultExecutor
        executor.run_action = without_async_heartbeats(executor.run_action)


def without_async_heartbeats(run_action):
    """Wrap ``DefaultExecutor.run_action`` to skip async heartbeats.

    An action of this package whose ``is_sync()`` returns False is run as
    Mistral's ``run_action`` runs it, less the heartbeat registration
    around it (``_do_run_action``); any other goes to ``run_action``.
    Returns what they return.
    """
    @functools.wraps(run_action)
    def run_action_here(self, action, action_ex_id, safe_rerun, exec_ctx,
                        redelivered=False, target=None, async_=True,
                        timeout=None):
        is_sync = getattr(action, 'is_sync', None)
        if (base.own_action(action) and callable(is_sync) and
                is_sync() is False):
            return self._do_run_action(action, action_ex_id, exec_ctx,
                                       redelivered, safe_rerun, timeout)
        return run_action(self, action, action_ex_id, safe_rerun, exec_ctx,
                          redelivered=redelivered, target=target,
                          async_=async_, timeout=timeout)

    run_action_here._hme_original = run_action
    return run_action_here


PATCH = AsyncHeartbeatsOff()
