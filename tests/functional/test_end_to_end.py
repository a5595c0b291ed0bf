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

"""The first end-to-end path: create and delete ordered by Mistral."""

import os
import tempfile
import time

import yaml

from tests.functional import base

FAN_WIDTH = 50


def fan_template(width=FAN_WIDTH):
    """root -> width leaves (get_attr root) -> one Value joining them all."""
    resources = {
        'root': {'type': 'OS::Heat::TestResource',
                 'properties': {'value': 'root'}},
        'join': {'type': 'OS::Heat::Value',
                 'properties': {'value': {'list_join': [',', [
                     {'get_attr': ['leaf%02d' % i, 'output']}
                     for i in range(width)]]}}},
    }
    for i in range(width):
        resources['leaf%02d' % i] = {
            'type': 'OS::Heat::TestResource',
            'properties': {'value': {'list_join': [
                '-', [{'get_attr': ['root', 'output']}, str(i)]]}}}
    return {'heat_template_version': '2021-04-16',
            'resources': resources,
            'outputs': {'joined': {'value': {'get_attr': ['join',
                                                          'value']}}}}


class CreateDeleteTest(base.FunctionalTest):

    def test_get_attr_chain(self):
        stack = self.create_stack(self.template('chain.yaml'),
                                  params={'seed': 's1'})
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual({'c_value': 's1-b-c'}, self.outputs(stack.id))
        self.assert_started_after(self.events(stack.id), 'CREATE',
                                  [('a', 'b'), ('b', 'c')])
        execution, tasks = self.assert_tasks_succeeded(stack.id,
                                                       ['a', 'b', 'c'])
        # Mistral carried exactly the attributes dependents consumed.
        self.assertEqual({'output': 's1'}, tasks['a'].result_value['attrs'])
        self.assertEqual({'output': 's1-b'},
                         tasks['b'].result_value['attrs'])
        b_input = tasks['b'].action_input['data']
        self.assertEqual(['s1'], [d['attrs']['output']
                                  for d in b_input.values()])
        self.assertEqual({}, tasks['a'].action_input['data'])
        self.assertIn(stack.id, execution.description)
        # The local cloud's Mistral runs without authentication: it offers
        # direct completions, and its engine took every node's result.
        log = self.mistral_log()
        for name, task in tasks.items():
            self.assertIn('Completed action execution %s (SUCCESS) for '
                          'heat-engine, without Mistral\'s API'
                          % task.action_execution_id, log, name)
            self.assertNotIn("'on_action_complete'[action_ex_id=%s"
                             % task.action_execution_id, log, name)

    def test_get_resource_depends_on_and_attribute_paths(self):
        stack = self.create_stack(self.template('refs.yaml'))
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        outputs = self.outputs(stack.id)
        self.assertEqual(12, len(outputs['random']))
        # get_resource of a RandomString is the string itself.
        self.assertEqual(outputs['random'], outputs['via_ref'])
        self.assertEqual(outputs['random'], outputs['via_path'])
        self.assert_started_after(
            self.events(stack.id), 'CREATE',
            [('rnd', 'uses_ref'), ('gate', 'after_gate'),
             ('uses_ref', 'structured'), ('structured', 'path_user')])
        _execution, tasks = self.assert_tasks_succeeded(
            stack.id, ['rnd', 'uses_ref', 'gate', 'after_gate',
                       'structured', 'path_user'])
        self.assertEqual(outputs['random'],
                         tasks['rnd'].result_value['reference_id'])
        # The path travels as a packed tuple key, as in Heat's sync points.
        structured_attrs = tasks['structured'].result_value['attrs']
        self.assertEqual(
            [outputs['random']],
            [v for k, v in structured_attrs.items() if 'deep' in k])
        self.assertEqual({}, tasks['gate'].result_value['attrs'])

    def test_fan_out_and_fan_in_of_fifty(self):
        with tempfile.NamedTemporaryFile('w', suffix='.yaml',
                                         delete=False) as f:
            yaml.safe_dump(fan_template(), f)
        self.addCleanup(os.unlink, f.name)
        stack = self.create_stack(f.name)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        expected = ','.join('root-%d' % i for i in range(FAN_WIDTH))
        self.assertEqual({'joined': expected}, self.outputs(stack.id))
        leaves = ['leaf%02d' % i for i in range(FAN_WIDTH)]
        self.assert_started_after(
            self.events(stack.id), 'CREATE',
            [('root', leaf) for leaf in leaves] +
            [(leaf, 'join') for leaf in leaves])
        _execution, tasks = self.assert_tasks_succeeded(
            stack.id, ['root', 'join'] + leaves)
        self.assertEqual(FAN_WIDTH, len(tasks['join'].action_input['data']))

    def test_delete_runs_in_reverse_through_mistral(self):
        stack = self.create_stack(self.template('chain.yaml'),
                                  cleanup=False)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status)
        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack.id))
        executions = self.executions(stack.id)
        self.assertEqual(2, len(executions))
        delete_ex = self.wait_for_execution(executions[-1].id)
        self.assertEqual('SUCCESS', delete_ex.state, delete_ex.state_info)
        tasks = self.tasks(delete_ex.id)
        self.assertEqual(['a', 'b', 'c'], sorted(tasks))
        for task in tasks.values():
            self.assertEqual('SUCCESS', task.state)
            self.assertIs(False, task.action_input['is_update'])
        # Reverse order: c is gone before b starts, b before a.
        self.assertLessEqual(tasks['c'].updated_at, tasks['b'].created_at)
        self.assertLessEqual(tasks['b'].updated_at, tasks['a'].created_at)


class FailureTest(base.FunctionalTest):

    def test_failed_resource_fails_its_task_and_the_stack(self):
        # Rollback is off unless --enable-rollback is given.
        stack = self.create_stack(self.template('fail.yaml'))
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assertIn('Resource CREATE failed: ValueError: resources.bad: '
                      'Test Resource failed', stack.stack_status_reason)
        resources = self.resources(stack.id)
        self.assertEqual('CREATE_COMPLETE',
                         resources['good'].resource_status)
        self.assertEqual('CREATE_FAILED', resources['bad'].resource_status)
        self.assertEqual('INIT_COMPLETE', resources['never'].resource_status)
        execution = self.wait_for_execution(self.executions(stack.id)[-1].id)
        self.assertEqual('ERROR', execution.state)
        tasks = self.tasks(execution.id)
        self.assertEqual('SUCCESS', tasks['good'].state)
        self.assertEqual('ERROR', tasks['bad'].state)
        self.assertIn('Test Resource failed', tasks['bad'].state_info)
        shown = base.openstack('stack', 'workflow', 'show', stack.id)
        states = {t['resource']: t for t in shown['tasks']}
        self.assertEqual('ERROR', states['bad']['state'])
        self.assertIn('Test Resource failed', states['bad']['state_info'])
        self.assertEqual('NOT STARTED', states['never']['state'])
        self.assertNotIn('never', tasks)

    def test_failed_create_rolls_back_when_asked(self):
        stack = self.create_stack(self.template('fail.yaml'),
                                  extra=['--enable-rollback'],
                                  until=base.ROLLED_BACK)
        self.assertEqual('ROLLBACK_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual(2, len(self.executions(stack.id)))
        create = self.execution_of(stack.id, 'CREATE')
        self.assertIn(create.state, ('CANCELLED', 'ERROR'))
        rollback = self.execution_of(stack.id, 'ROLLBACK')
        self.assertEqual('SUCCESS', rollback.state, rollback.state_info)
        for task in self.tasks(rollback.id).values():
            self.assertIs(False, task.action_input['is_update'])

    def test_delete_while_create_in_progress(self):
        stack = self.create_stack(self.template('slow.yaml'), wait=False)
        deadline = time.time() + 60
        while self.resources(stack.id)['slow'].resource_status != \
                'CREATE_IN_PROGRESS':
            self.assertLess(time.time(), deadline, 'slow never started')
            time.sleep(0.5)
        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack.id))
        # The long create was interrupted, not waited for.
        self.assertNotIn(('slow', 'CREATE_COMPLETE'), self.events(stack.id))
        self.assertEqual(2, len(self.executions(stack.id)))
        self.assertIn(self.execution_of(stack.id, 'CREATE').state,
                      ('CANCELLED', 'ERROR'))
        delete = self.execution_of(stack.id, 'DELETE')
        self.assertEqual('SUCCESS', delete.state, delete.state_info)
        self.assertEqual([], [e.id for e in self.executions(stack.id)
                              if e.state == 'RUNNING'])
