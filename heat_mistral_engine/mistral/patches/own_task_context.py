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
"""``own_task_context``: a tagged task passes on only what it published.

In a Mistral 23 direct workflow, a task's ``in_context`` is the outbound
context of the tasks that led to it (``data_flow.
evaluate_upstream_context``), and a task's outbound context is its own
``in_context`` with its published variables added
(``data_flow.evaluate_task_outbound_context``). So each task execution row
stores everything published on every path that leads to it: along a chain
of n tasks that each publish b bytes, about n * n / 2 * b in all (10.5 MB
for 20 node receipts of 50 KB), which the engine also deep-copies
(context versioning) and writes again at every task.

The generated workflows need none of it: every value a node task reads is
published by a task right before it, because every data dependency is an
edge of the graph (``graph.workflow``). The compiler tags its node tasks
(``workflow.OWN_CONTEXT_TAG``). For a task execution that carries the tag,
the patched ``evaluate_task_outbound_context`` returns what Mistral's own
function returns for the same task with an empty ``in_context``: its
published variables (with Mistral's context versions for them). Its
successors' ``in_context`` then holds the published data of their direct
predecessors only. The workflow's input, ``__execution`` and variables
stay where Mistral keeps them, the execution's input and context, which
every expression reads too.

Tagged tasks only (``base.TAGGED_TASKS_ONLY``): a task whose definition
does not carry the tag gets Mistral's outbound context, whatever the name
or project of its workflow. A workflow author who writes the tag opts in.
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
    applied = ('tasks tagged %s pass on only what they published'
               % workflow.OWN_CONTEXT_TAG)

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


def tagged(task_ex):
    """True if the task execution's definition carries the tag."""
    return workflow.OWN_CONTEXT_TAG in (getattr(task_ex, 'tags', None) or ())


def own_context_only(evaluate):
    """Wrap ``evaluate_task_outbound_context`` (``evaluate``).

    Takes a task execution and returns its outbound context, as
    ``evaluate`` does. For a ``tagged`` task it is ``evaluate``'s result
    for a stand-in with the task's ``published`` and no ``in_context``, so
    Mistral's merge strategy and context versioning apply as usual; every
    other task gets ``evaluate``'s result for itself.
    """
    @functools.wraps(evaluate)
    def evaluate_task_outbound_context(task_ex):
        if not tagged(task_ex):
            return evaluate(task_ex)
        return evaluate(types.SimpleNamespace(
            in_context={}, published=getattr(task_ex, 'published', None)))

    evaluate_task_outbound_context._hme_original = base.original(evaluate)
    evaluate_task_outbound_context._hme_own_context = True
    return evaluate_task_outbound_context


PATCH = OwnTaskContext()
