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


"""How a task of a generated workflow reads what another task published.

A node's successors, and the operator hook tasks around it, read the
node's receipt and what it did from the node task's own ``published``
with Mistral's ``task()`` expression function, not from the context that
Mistral passes from task to task: so the node task need pass nothing on
(``workflow.NO_CONTEXT_TAG``), and a receipt is stored where it was
published and in the input of each action that reads it, not in the
``in_context`` of every task downstream.
"""

_REFERENCE = 'task("%s").published.%s'


def reference(task, variable):
    """Jinja text (no braces) of ``variable`` as ``task`` published it.

    ``task`` is a task name the compiler made (``naming``: no quote, no
    character that starts an expression), never text from a template;
    ``variable`` a name the compiler made too. Mistral's ``task()`` reads
    the task execution of that name in the same workflow execution.
    """
    return _REFERENCE % (task, variable)


def expression(task, variable):
    """The whole-value expression of ``reference``: ``{{ ... }}``.

    A Jinja expression that is the whole value evaluates to the raw object,
    so the receipt keeps its type.
    """
    return '{{ %s }}' % reference(task, variable)
