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

"""Stack update ordered by Mistral: replacement and cleanup nodes."""

from tests.functional import base


class UpdateTest(base.FunctionalTest):

    def test_replacement_then_cleanup_of_the_old_resource(self):
        stack = self.create_stack(self.template('replace.yaml'))
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        old_base = self.resources(stack.id)['base'].physical_resource_id

        base.openstack('stack', 'update', '-t',
                       self.template('replace.yaml'), '--parameter',
                       'seed=two', '--wait', stack.id, parse=False)
        stack = self.heat.stacks.get(stack.id)
        self.assertEqual('UPDATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual({'user': 'two'}, self.outputs(stack.id))
        self.assertNotEqual(old_base,
                            self.resources(stack.id)['base']
                            .physical_resource_id)

        update = self.execution_of(stack.id, 'UPDATE')
        self.assertEqual('SUCCESS', update.state, update.state_info)
        shown = base.openstack('stack', 'workflow', 'show', stack.id)
        self.assertEqual(update.id, shown['execution'])
        tasks = {t['task']: t for t in shown['tasks']}
        self.assertEqual(
            {'base': 'create/update', 'user': 'create/update',
             'base_cleanup': 'cleanup', 'user_cleanup': 'cleanup'},
            {name: t['action'] for name, t in tasks.items()})
        self.assertEqual({'SUCCESS'}, {t['state'] for t in tasks.values()})
        # The replaced resource is removed only after its dependent moved
        # to the new one.
        self.assertLessEqual(tasks['user']['finished_at'],
                             tasks['base_cleanup']['started_at'])
