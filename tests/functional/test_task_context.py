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

"""Mistral stores no receipt in the context of the tasks that follow.

Mistral 23 passes on to each task everything published before it, so a
chain's stored task contexts grew with the square of its length (issue
25: 10 times what was published for 20 resources). The generated node
tasks read their predecessors' receipts with ``task()`` from what those
published, and are tagged so that the Mistral patch ``own_task_context``
passes on nothing from them. Measured with SQL on the cloud's Mistral
database: the tasks' ``in_context`` against their ``published``.
"""

from tests.functional import base

LENGTH = 8
# A value big enough (before sealing) that the receipts, not Mistral's
# own keys, make the sizes.
VALUE = 'x' * 20000


def chain_template(length, value):
    """OS::Heat::Value r0 <- r1 <- ...: each reads the one before."""
    resources = {'r0': {'type': 'OS::Heat::Value',
                        'properties': {'value': value}}}
    for i in range(1, length):
        resources['r%d' % i] = {
            'type': 'OS::Heat::Value',
            'properties': {'value': {'get_attr': ['r%d' % (i - 1),
                                                  'value']}}}
    return {'heat_template_version': '2021-04-16', 'resources': resources}


def layered_template(layers, width, value):
    """OS::Heat::Value in layers; each reads two of the layer before."""
    resources = {}
    for layer in range(layers):
        for i in range(width):
            if layer == 0:
                prop = value + str(i)
            else:
                prop = {'list_join': ['+', [
                    {'get_attr': ['l%d_%d' % (layer - 1, (i + k) % width),
                                  'value']} for k in (0, 1)]]}
            resources['l%d_%d' % (layer, i)] = {
                'type': 'OS::Heat::Value', 'properties': {'value': prop}}
    return {'heat_template_version': '2021-04-16', 'resources': resources}


# Bytes of the in_context of a task that holds no receipt: Mistral's
# version map, {"__versions": {}}, or nothing.
NO_RECEIPT = 64


class TaskContextTest(base.FunctionalTest):

    def stored(self, execution_id):
        """{task name: (bytes of in_context, bytes of published)}."""
        db = base.mistral_db()
        self.addCleanup(db.close)
        with db.cursor() as cur:
            cur.execute('SELECT name, LENGTH(in_context), LENGTH(published) '
                        'FROM task_executions_v2 WHERE '
                        'workflow_execution_id = %s', (execution_id,))
            return {name: (context or 0, published or 0)
                    for name, context, published in cur.fetchall()}

    def test_chain_stores_at_most_twice_what_it_published(self):
        stack = self.create_stack(self.template_file(
            chain_template(LENGTH, VALUE)))
        self.assertEqual('CREATE_COMPLETE', stack.stack_status)
        execution = self.execution_of(stack.id, 'CREATE')
        stored = self.stored(execution.id)
        self.assertEqual(LENGTH, len(stored))
        context = sum(c for c, _p in stored.values())
        published = sum(p for _c, p in stored.values())
        # Every resource but the last publishes its receipt, which holds
        # the value.
        self.assertGreater(published, (LENGTH - 1) * len(VALUE))
        self.assertLessEqual(context, 2 * published,
                             'stored context %d bytes for %d published: %s'
                             % (context, published, stored))
        # No task holds a receipt in its context (LENGTH / 2 times what
        # was published without the patch; once when each task passed on
        # what it published).
        for name, (task_context, _p) in stored.items():
            self.assertLess(task_context, NO_RECEIPT, name)
        # The data still reached the end of the chain.
        self.assertEqual(VALUE, self.heat.resources.get(
            stack.id, 'r%d' % (LENGTH - 1)).attributes['value'])

    def test_layered_stores_no_receipt_in_contexts(self):
        # Each resource is read by two: with the receipts in the contexts
        # of their readers, over twice what was published.
        layers, width = 3, 3
        value = 'y' * 2000
        stack = self.create_stack(self.template_file(
            layered_template(layers, width, value)))
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        stored = self.stored(self.execution_of(stack.id, 'CREATE').id)
        self.assertEqual(layers * width, len(stored))
        context = sum(c for c, _p in stored.values())
        published = sum(p for _c, p in stored.values())
        self.assertGreater(published, (layers - 1) * width * len(value))
        self.assertLessEqual(context, 2 * published)
        for name, (task_context, _p) in stored.items():
            self.assertLess(task_context, NO_RECEIPT, name)
        # Each value went through both of its readers, layer by layer.
        self.assertEqual(
            '+'.join([value + '0', value + '1', value + '1', value + '2']),
            self.heat.resources.get(stack.id, 'l2_0').attributes['value'])
