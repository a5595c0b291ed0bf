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

"""``lean_start_task``: start tasks without sending the workflow spec.

Mistral 23's engine starts each task with an RPC cast,
``EngineClient.start_task``, that carries the whole workflow spec as an
extra parameter (``wf_spec``). The engine that receives it never reads it
(``DefaultEngine.start_task`` swallows ``**params``), but serialising it
costs CPU in proportion to the spec for every task, which grows
quadratically with fan-out (see doc/source/benchmarks.rst, "Found and
fixed while measuring"). The patch makes ``start_task`` drop that one
parameter and changes nothing else. Mistral loads this package's actions,
and so installs the patch, while it starts the first task of a process:
that one task still carries the spec.

Same for every workflow (``base.SAME_FOR_EVERY_WORKFLOW``): no engine
reads the parameter, whichever workflow the task belongs to.
"""

import functools
import inspect

from heat_mistral_engine.mistral.patches import base

# EngineClient.start_task and DefaultEngine.start_task take the same.
START_TASK_PARAMS = ('self', 'task_ex_id', 'first_run', 'waiting',
                     'triggered_by', 'rerun', 'reset', 'params')


class LeanStartTask(base.Patch):
    option = 'lean_start_task'
    sharing = base.SAME_FOR_EVERY_WORKFLOW
    left_alone = 'Mistral\'s start_task as it is'
    cost = 'big generated workflows will be slow'
    applied = 'Mistral\'s start_task no longer sends the unused workflow spec'

    def installed(self):
        from mistral.rpc import clients
        return getattr(clients.EngineClient.start_task, '_hme_lean', False)

    def mistral_problem(self):
        from mistral.engine import default_engine
        from mistral.rpc import clients
        problem = base.signature_problem((
            (base.original(clients.EngineClient.start_task),
             START_TASK_PARAMS),))
        if problem:
            return problem
        engine_params = inspect.signature(
            default_engine.DefaultEngine.start_task).parameters.values()
        if not any(p.kind == p.VAR_KEYWORD for p in engine_params):
            return ('DefaultEngine.start_task no longer ignores extra '
                    'parameters')
        return None

    def apply(self):
        from mistral.rpc import clients
        clients.EngineClient.start_task = without_spec(
            clients.EngineClient.start_task)


def without_spec(send):
    """Wrap ``EngineClient.start_task`` (``send``) to drop ``wf_spec``.

    The wrapper takes and returns what ``send`` does; every other
    parameter is passed on unchanged.
    """
    @functools.wraps(send)
    def start_task(self, task_ex_id, first_run, waiting, triggered_by,
                   rerun, reset, **params):
        params.pop('wf_spec', None)
        return send(self, task_ex_id, first_run, waiting, triggered_by,
                    rerun, reset, **params)

    start_task._hme_original = base.original(send)
    start_task._hme_lean = True
    return start_task


PATCH = LeanStartTask()
