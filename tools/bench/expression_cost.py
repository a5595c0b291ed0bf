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


"""Benchmark: Mistral's CPU for the expressions of one generated task.

Builds a chain with the plugin's workflow compiler, then evaluates the
expressions Mistral evaluates for each of its tasks (the action input,
with one predecessor's receipt, and the publish of the receipt) with
Mistral's own evaluator, in this process, ``--rounds`` times: first as
Mistral 23 does it, then with ``[heat_mistral_engine] cache_expressions``
(``patches/cache_expressions.py``). Reports CPU
(``time.process_time``) per task; asserts nothing. ``task()`` in the
publish is replaced by the result it would read from Mistral's database,
which is not measured here.

    python tools/bench/expression_cost.py [--rounds 300]

Run it with Mistral installed (the local cloud's venv): it loads Mistral's
configuration as a Mistral server does.
"""

import argparse
import os
import sys
import time

import mistral.config  # noqa: F401  (a Mistral process, for the patch)
from oslo_config import cfg

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

from heat_mistral_engine.graph import model  # noqa: E402
from heat_mistral_engine.graph import workflow  # noqa: E402
from heat_mistral_engine.mistral.patches import cache_expressions  # noqa: E402,E501


def task_expressions():
    """(input, publish, context) of the second task of a generated chain."""
    nodes = [model.Node(1, True, 'first'), model.Node(2, True, 'second'),
             model.Node(3, True, 'third')]
    graph = model.TaskGraph(nodes, [(n.key, m.key) for n, m in
                                    zip(nodes, nodes[1:])])
    tasks = workflow.build(graph, 'bench')['bench']['tasks']
    task = tasks['second']
    receipt = 'g' * 600            # a sealed receipt's size (Fernet text)
    context = {'stack_id': 's' * 36, 'traversal': 't' * 36,
               'token': 'k' * 2000, 'node_1': receipt,
               '__task_execution': {'id': 'x', 'name': 'second'},
               '__execution': {'id': 'e'}}
    # task() reads the task's result from Mistral's database; here it is
    # the receipt itself, so that only the evaluation is measured.
    publish = {key: value.replace('task().result.node', '_.node_1')
               for key, value in task['publish'].items()}
    return task['input'], publish, context


def per_task_ms(rounds):
    from mistral import expressions as expr

    task_input, publish, context = task_expressions()
    start = time.process_time()
    for _ in range(rounds):
        expr.evaluate_recursively(task_input, context)
        expr.evaluate_recursively(publish, context)
    return (time.process_time() - start) * 1000 / rounds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=300)
    args = parser.parse_args()
    cfg.CONF([], project='mistral')
    per_task_ms(10)   # imports, first compilations
    before = per_task_ms(args.rounds)
    if not cache_expressions.PATCH.install():
        sys.exit('the expression cache could not be installed: %s'
                 % cache_expressions.PATCH.incompatibility())
    after = per_task_ms(args.rounds)
    print('CPU per task for its expressions: %.2f ms as Mistral 23 does, '
          '%.2f ms with cache_expressions' % (before, after))


if __name__ == '__main__':
    main()
