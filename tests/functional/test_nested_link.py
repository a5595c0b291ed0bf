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

"""Nested stacks' executions name the parent task they run under.

A ResourceGroup of provider-template members (two levels of nesting), a
provider-template resource, and an OS::Heat::Stack (whose child heat-api
creates as a top-level stack, marked with a tag): each nested stack runs
its own generated workflow; its execution must record, in Mistral, the
parent's execution and the task of the parent resource (create/update task
on create and update, cleanup task on delete), Mistral's root_execution_id
must be the top execution, the parent task must end after the child's
execution, and ``openstack stack workflow show`` must show the link both
ways. A copied tag must link nothing.
"""

import json

from tests.functional import base

MEMBER = 'nested_link_member.yaml'
MARK = 'mistral_parent_resource='


class NestedLinkTest(base.FunctionalTest):

    def create(self):
        with open(self.template('nested_link.yaml')) as f:
            template = f.read()
        with open(self.template(MEMBER)) as f:
            files = {MEMBER: f.read()}
        created = self.heat.stacks.create(
            stack_name=self.stack_name(), template=template, files=files)
        stack_id = created['stack']['id']
        self.addCleanup(self._delete_quietly, stack_id)
        stack = self.wait_for_stack(stack_id)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        return stack_id

    def nested_id(self, stack_id, resource):
        found = self.heat.resources.get(stack_id, resource)
        self.assertTrue(found.physical_resource_id, resource)
        return found.physical_resource_id

    def parent_tasks(self, execution_id):
        return {t.name: t for t in self.mistral.tasks.list(
            workflow_execution_id=execution_id, limit=-1)}

    def assert_linked(self, child_id, action, parent, task, root):
        """The child's ``action`` execution runs under ``task``; returns it.

        ``parent`` is the parent's execution, ``task`` the parent's task
        (both as Mistral's API shows them), ``root`` the top execution.
        """
        child = self.execution_of(child_id, action)
        self.assertEqual('SUCCESS', child.state, child.state_info)
        link = json.loads(child.params).get('heat_parent')
        self.assertIsNotNone(link, 'execution %s of nested stack %s names '
                             'no parent: %s' % (child.id, child_id,
                                                child.params))
        self.assertEqual(parent.id, link['execution_id'])
        self.assertEqual(task.name, link['task'])
        self.assertEqual(task.id, link['task_execution_id'])
        self.assertEqual(json.loads(parent.input)['stack_id'],
                         link['stack_id'])
        self.assertEqual(root.id, child.root_execution_id)
        self.assertTrue(child.description.endswith(
            ', parent execution %s' % parent.id), child.description)
        # The parent's task waited for the child's traversal: it ended
        # after the child's execution did (Mistral stamps whole seconds).
        self.assertEqual('SUCCESS', task.state, task.state_info)
        self.assertGreaterEqual(task.finished_at, child.updated_at,
                                'task %s ended before execution %s of its '
                                'nested stack' % (task.name, child.id))
        # Mistral did not take the child for a sub-workflow of the task:
        # heat-engine completed the task with the node's sealed receipt.
        self.assertIsNone(child.task_execution_id)
        self.assertIn('node', json.loads(
            self.mistral.tasks.get(task.id).result))
        return child

    def test_each_nested_execution_names_its_parent_task(self):
        stack_id = self.create()
        top = self.execution_of(stack_id, 'CREATE')
        self.assertIsNone(top.root_execution_id)
        self.assertIsNone(json.loads(top.params).get('heat_parent'))
        tasks = self.parent_tasks(top.id)
        group_id = self.nested_id(stack_id, 'group')
        provider_id = self.nested_id(stack_id, 'provider')
        group = self.assert_linked(group_id, 'CREATE', top, tasks['group'],
                                   top)
        self.assert_linked(provider_id, 'CREATE', top, tasks['provider'],
                           top)
        member_tasks = self.parent_tasks(group.id)
        members = {}
        for index in ('0', '1'):
            members[index] = self.nested_id(group_id, index)
            self.assert_linked(members[index], 'CREATE', group,
                               member_tasks[index], top)

        # Mistral's own tree: every nested execution has the top as root.
        tree = self.mistral.executions.list(root_execution_id=top.id,
                                            limit=-1)
        self.assertEqual(4, len(tree))

        shown = base.openstack('stack', 'workflow', 'show', stack_id)
        self.assertEqual({}, shown['parent'])
        self.assertEqual(
            sorted([('group', group_id), ('provider', provider_id)]),
            sorted((row['task'], row['stack_id'])
                   for row in shown['nested']))
        shown = base.openstack('stack', 'workflow', 'show', group_id)
        self.assertEqual(top.id, shown['parent']['execution_id'])
        self.assertEqual('group', shown['parent']['task'])
        self.assertEqual(sorted(members.items()), sorted(
            (row['task'], row['stack_id']) for row in shown['nested']))
        dot = base.openstack('stack', 'workflow', 'show', '--dot', stack_id,
                             parse=False)
        self.assertIn('"group" -> "%s" [style=dashed, label="nested"];'
                      % group.id, dot.stdout)

        # Delete: the nested stacks' deletes run under the cleanup tasks.
        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack_id))
        top_delete = self.execution_of(stack_id, 'DELETE')
        tasks = self.parent_tasks(top_delete.id)
        group_delete = self.assert_linked(
            group_id, 'DELETE', top_delete, tasks['group_cleanup'],
            top_delete)
        member_tasks = self.parent_tasks(group_delete.id)
        self.assert_linked(members['0'], 'DELETE', group_delete,
                           member_tasks['0_cleanup'], top_delete)

    def test_os_heat_stack_child_names_its_parent_task(self):
        stack_id = self.create_stack(
            self.template('remote_stack_link.yaml')).id
        self.assertEqual({'leaf': 'v'}, self.outputs(stack_id))
        child_id = self.nested_id(stack_id, 'child')
        child = self.heat.stacks.get(child_id, resolve_outputs=False)
        # A top-level stack to Heat, marked by a tag the user can see.
        self.assertIsNone(getattr(child, 'parent', None))
        marks = [t for t in child.tags or () if t.startswith(MARK)]
        self.assertEqual(1, len(marks), child.tags)
        self.assertTrue(marks[0].startswith(MARK + stack_id + ':'),
                        marks[0])

        top = self.execution_of(stack_id, 'CREATE')
        self.assert_linked(child_id, 'CREATE', top,
                           self.parent_tasks(top.id)['child'], top)
        shown = base.openstack('stack', 'workflow', 'show', stack_id)
        self.assertEqual([('child', child_id)], [
            (row['task'], row['stack_id']) for row in shown['nested']])
        shown = base.openstack('stack', 'workflow', 'show', child_id)
        self.assertEqual({'stack_id': stack_id, 'resource': 'child',
                          'execution_id': top.id, 'task': 'child'},
                         {key: shown['parent'][key] for key in (
                             'stack_id', 'resource', 'execution_id',
                             'task')})

        # Update: Heat's PUT replaces the child's tags; the update carries
        # the mark again, and the child's update runs under the task.
        base.openstack('stack', 'update', '--existing', '--wait',
                       stack_id, parse=False)
        self.assertEqual('UPDATE_COMPLETE',
                         self.heat.stacks.get(stack_id).stack_status)
        update = self.execution_of(stack_id, 'UPDATE')
        self.assert_linked(child_id, 'UPDATE', update,
                           self.parent_tasks(update.id)['child'], update)
        self.assertEqual(child.tags, self.heat.stacks.get(
            child_id, resolve_outputs=False).tags)

        # Anyone can copy the tag: on another stack, with the parent's
        # node not running, it links nothing.
        forged = self.create_stack(self.template('chain.yaml'),
                                   extra=['--tags', marks[0]])
        self.assertEqual('CREATE_COMPLETE', forged.stack_status)
        forged_ex = self.execution_of(forged.id, 'CREATE')
        self.assertIsNone(json.loads(forged_ex.params).get('heat_parent'))
        self.assertIsNone(forged_ex.root_execution_id)
        self.assertNotIn('parent execution', forged_ex.description)

        # Delete: the child's delete runs under the cleanup task, and the
        # child is gone with its parent.
        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack_id))
        delete = self.execution_of(stack_id, 'DELETE')
        self.assert_linked(child_id, 'DELETE', delete,
                           self.parent_tasks(delete.id)['child_cleanup'],
                           delete)
        self.assertEqual('DELETE_COMPLETE', self.heat.stacks.get(
            child_id, resolve_outputs=False).stack_status)
