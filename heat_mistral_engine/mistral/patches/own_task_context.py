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
"""``own_task_context``: tagged tasks pass on little or nothing.

In a Mistral 23 direct workflow, a task's ``in_context`` is the outbound
context of the tasks that led to it (``data_flow.
evaluate_upstream_context``), and a task's outbound context is its own
``in_context`` with its published variables added
(``data_flow.evaluate_task_outbound_context``). So each task execution row
stores everything published on every path that leads to it: along a chain
of n tasks that each publish b bytes, about n * n / 2 * b in all (10.5 MB
for 20 node receipts of 50 KB), which the engine also deep-copies
(context versioning) and writes again at every task.

The generated workflows need none of it. Their node tasks read each
predecessor's receipt from the predecessor's own ``published`` with
``task()`` (``graph.published``) and are tagged
``workflow.NO_CONTEXT_TAG``: for a task execution with that tag, the
patched ``evaluate_task_outbound_context`` returns what Mistral's own
function returns for the same task with an empty ``in_context`` and
nothing published, which with context versioning is
``{"__versions": {}}`` (Mistral's join merge needs the key). Its
successors' ``in_context`` then holds no receipt at all; each receipt is
stored in its task's ``published`` and in the input of each action that
reads it.

Tasks tagged ``workflow.OWN_CONTEXT_TAG`` (what the compiler wrote before,
when node tasks read their predecessors' receipts from the context; kept
for executions started before an upgrade) get Mistral's result for an
empty ``in_context`` with the task's own ``published``: they pass on only
what they published, so each successor stores its direct predecessors'
receipts. A task with both tags gets the former.

The workflow's input, ``__execution`` and variables stay where Mistral
keeps them, the execution's input and context, which every expression
reads too.

Tagged tasks only (``base.TAGGED_TASKS_ONLY``): a task whose definition
carries neither tag gets Mistral's outbound context, whatever the name or
project of its workflow. A workflow author who writes a tag opts in.
"""

import functools
import types

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.mistral.patches import base


class OwnTaskContext(base.Patch):
    option = 'own_task_context'
    sharing = base.TAGGED_TASKS_ONLY
    left_alone = 'Mistral\'s task contexts as they are'
    cost = ('each task of a generated workflow stores the data published '
            'by every task before it, which grows with the square of the '
            'depth of the stack')
    applied = ('tasks tagged %s pass on nothing, tasks tagged %s only '
               'what they published'
               % (workflow.NO_CONTEXT_TAG, workflow.OWN_CONTEXT_TAG))

    def installed(self):
        return getattr(_data_flow().evaluate_task_outbound_context,
                       '_hme_own_context', False)

    def mistral_problem(self):
        data_flow = _data_flow()
        return base.signature_problem((
            (base.original(data_flow.evaluate_task_outbound_context),
             ('task_ex',)),
            # It calls evaluate_task_outbound_context through the module.
            (data_flow.evaluate_upstream_context,
             ('upstream_task_execs', 'additive_context')),
        ))

    def apply(self):
        data_flow = _data_flow()
        data_flow.evaluate_task_outbound_context = own_context_only(
            data_flow.evaluate_task_outbound_context)


def _data_flow():
    from mistral.workflow import data_flow
    return data_flow


def _tags(task_ex):
    return getattr(task_ex, 'tags', None) or ()


def own_context_only(evaluate):
    """Wrap ``evaluate_task_outbound_context`` (``evaluate``).

    Takes a task execution and returns its outbound context, as
    ``evaluate`` does. For a task tagged ``NO_CONTEXT_TAG`` it is
    ``evaluate``'s result for a stand-in with no ``in_context`` and
    nothing published; for one tagged ``OWN_CONTEXT_TAG`` (only), for a
    stand-in with the task's ``published`` and no ``in_context``. So
    Mistral's merge strategy and context versioning apply as usual (the
    result carries the ``__versions`` key that Mistral's join merge
    reads). Every other task gets ``evaluate``'s result for itself.
    """
    @functools.wraps(evaluate)
    def evaluate_task_outbound_context(task_ex):
        tags = _tags(task_ex)
        if workflow.NO_CONTEXT_TAG in tags:
            return evaluate(types.SimpleNamespace(in_context={},
                                                  published={}))
        if workflow.OWN_CONTEXT_TAG in tags:
            return evaluate(types.SimpleNamespace(
                in_context={},
                published=getattr(task_ex, 'published', None)))
        return evaluate(task_ex)

    evaluate_task_outbound_context._hme_original = base.original(evaluate)
    evaluate_task_outbound_context._hme_own_context = True
    return evaluate_task_outbound_context


PATCH = OwnTaskContext()
