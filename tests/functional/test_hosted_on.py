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

"""hosted_on and software components through `openstack stack create`."""

import os
import tempfile

from tests.functional import base


class HostedOnTest(base.FunctionalTest):

    def test_components_start_after_their_host_and_go_before_it(self):
        stack = self.create_stack(self.template('hosted.yaml'))
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual({'component': 'echo installed on vm-1'},
                         self.outputs(stack.id))
        self.assert_started_after(
            self.events(stack.id), 'CREATE',
            [('server', 'component'), ('server', 'agent'),
             ('config', 'component')])
        execution, tasks = self.assert_tasks_succeeded(
            stack.id, ['server', 'config', 'component', 'agent'])
        self.assertEqual({'output': 'vm-1'},
                         tasks['server'].result_value['attrs'])

        shown = base.openstack('stack', 'workflow', 'show', stack.id)
        self.assertEqual('heat_stack_%s' % stack.id, shown['workflow'])
        self.assertEqual(execution.id, shown['execution'])
        self.assertEqual('SUCCESS', shown['execution_state'])
        self.assertEqual({('server', 'SUCCESS'), ('config', 'SUCCESS'),
                          ('component', 'SUCCESS'), ('agent', 'SUCCESS')},
                         {(t['resource'], t['state'])
                          for t in shown['tasks']})

        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack.id))
        delete = self.execution_of(stack.id, 'DELETE')
        self.assertEqual('SUCCESS', delete.state, delete.state_info)
        tasks = self.tasks(delete.id)
        # finished_at/started_at, not updated_at/created_at: Mistral updates
        # a finished task again after it has created the next one.
        for component in ('component', 'agent'):
            self.assertLessEqual(tasks[component].finished_at,
                                 tasks['server'].started_at)

    def test_unknown_host_is_refused_before_anything_runs(self):
        with tempfile.NamedTemporaryFile('w', suffix='.yaml',
                                         delete=False) as f:
            f.write('heat_template_version: 2021-04-16-hosted\n'
                    'resources:\n'
                    '  app: {type: OS::Heat::None, hosted_on: nowhere}\n')
        self.addCleanup(os.unlink, f.name)
        proc = base.openstack('stack', 'create', '-t', f.name,
                              self.stack_name(), parse=False, check=False)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('The specified reference "nowhere" (in app) is '
                      'incorrect.', proc.stderr)

    def test_template_version_list_shows_the_hosted_version(self):
        versions = base.openstack('orchestration', 'template', 'version',
                                  'list')
        names = {v['Version'] for v in versions}
        self.assertIn('heat_template_version.2021-04-16', names)
        aliases = ' '.join(str(v.get('Aliases')) for v in versions)
        self.assertIn('heat_template_version.2021-04-16-hosted', aliases)
