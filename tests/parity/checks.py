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

"""Checks of one cloud's record.

Dependency order in the events, and (plugin mode) Mistral's executions.
"""

import json
import time

from mistralclient.api import base as mistral_base

FORWARD = ('CREATE', 'UPDATE')
TRAVERSALS = ('CREATE', 'UPDATE', 'DELETE', 'ROLLBACK')


def segments(events):
    """Split resource events by the stack's own *_IN_PROGRESS events.

    Yields (stack action, [(resource, status, reason)]): one list per
    traversal or stack action, in event order.
    """
    action, current = None, []
    for name, status, reason, is_stack in events:
        if is_stack:
            if status.endswith('_IN_PROGRESS'):
                if action is not None or current:
                    yield action, current
                action, current = status.split('_', 1)[0], []
            continue
        current.append((name, status, reason))
    if action is not None or current:
        yield action, current


def order_violations(record):
    """Every dependency edge respected by the events: the violations.

    Returns [(action, required, dependent, message)] (``required`` and
    ``dependent`` are the same resource for a replacement out of order).

    For an edge (required, dependent): within one traversal,
    * forward (create/update) -- the dependent's first CREATE/UPDATE
      IN_PROGRESS comes after the required resource's last CREATE/UPDATE
      COMPLETE, if the required resource was acted on at all;
    * delete (in reverse) -- the required resource's first DELETE
      IN_PROGRESS comes after the dependent's last COMPLETE of any action;
    * a replaced resource (CREATE and DELETE in one UPDATE or ROLLBACK
      traversal) is created before its old self is deleted.
    """
    problems = []
    for number, (action, events) in enumerate(segments(record.events)):
        where = 'traversal %d (%s)' % (number, action)

        def index(name, pred, last=False):
            found = [i for i, (n, s, _r) in enumerate(events)
                     if n == name and pred(s)]
            if not found:
                return None
            return found[-1] if last else found[0]

        for required, dependent in sorted(record.edges):
            started = index(dependent, lambda s: s in (
                'CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS'))
            touched = index(required, lambda s: s.split('_')[0] in FORWARD)
            if started is not None and touched is not None:
                done = index(required, lambda s: s in (
                    'CREATE_COMPLETE', 'UPDATE_COMPLETE'), last=True)
                if done is None or done > started:
                    problems.append((
                        action, required, dependent,
                        '%s: %s began %s before %s completed' % (
                            where, dependent, events[started][1], required)))
            deleting = index(required, lambda s: s == 'DELETE_IN_PROGRESS')
            if deleting is not None:
                dep_done = index(dependent, lambda s: s.endswith(
                    '_COMPLETE'), last=True)
                dep_busy = index(dependent, lambda s: s.endswith(
                    '_IN_PROGRESS'), last=True)
                if dep_busy is not None and (
                        dep_done is None or dep_done < dep_busy
                        or dep_done > deleting):
                    problems.append((
                        action, required, dependent,
                        '%s: %s began DELETE before %s finished' % (
                            where, required, dependent)))
        if action in ('UPDATE', 'ROLLBACK'):
            names = {n for n, _s, _r in events}
            for name in sorted(names):
                created = index(name, lambda s: s == 'CREATE_COMPLETE')
                deleting = index(name, lambda s: s == 'DELETE_IN_PROGRESS')
                first_create = index(name,
                                     lambda s: s == 'CREATE_IN_PROGRESS')
                if (created is not None and deleting is not None
                        and first_create < deleting < created):
                    problems.append((
                        action, name, name,
                        '%s: %s deleted before its replacement was '
                        'created' % (where, name)))
    return problems


def traversal_count(record):
    """Traversals that had a graph: stack create/update/delete/rollback.

    A traversal of a stack without resources that creates none (deleting
    a stack whose create was rolled back) has an empty graph, which the
    plugin completes without a Mistral execution; the delete of a stack
    with snapshots stays on Heat's own path (``starter.handles``).
    """
    count = 0
    present = set()
    snapshots = False
    for action, events in segments(record.events):
        snapshots = snapshots or action == 'SNAPSHOT'
        if action == 'DELETE' and snapshots:
            continue
        if action in TRAVERSALS and (present or events):
            count += 1
        for name, status, _reason in events:
            if status == 'DELETE_COMPLETE':
                present.discard(name)
            else:
                present.add(name)
    return count


def nested_link_problems(client, execution, ours):
    """A nested stack's execution must name its parent's execution and task.

    ``ours``: the ids of the scenario's executions (its stack's and its
    nested stacks'); the parent named must be one of them, and the task
    named a task of that parent execution.
    """
    link = json.loads(client.executions.get(execution.id).params or
                      '{}').get('heat_parent')
    label = 'nested execution %s (%s)' % (execution.id, execution.description)
    if not link:
        return ['%s names no parent task' % label]
    if link.get('execution_id') not in ours:
        return ['%s names parent execution %s, not one of the scenario\'s'
                % (label, link.get('execution_id'))]
    task = client.tasks.get(link.get('task_execution_id'))
    if (task.workflow_execution_id, task.name) != (link['execution_id'],
                                                   link.get('task')):
        return ['%s names task %s (%s) of execution %s; Mistral says that '
                'is task %s of execution %s' % (
                    label, link.get('task'), link.get('task_execution_id'),
                    link['execution_id'], task.name,
                    task.workflow_execution_id)]
    return []


def parent_execution(client, execution_id):
    """The execution id a nested stack's execution names as its parent.

    ``heat_parent`` in the execution's params (see
    ``nested_link_problems``); None for a top-level stack's execution,
    any other workflow's, or one deleted since it was listed (another
    scenario's, whose stack is gone).
    """
    try:
        params = client.executions.get(execution_id).params
    except mistral_base.APIException:
        return None
    return (json.loads(params or '{}').get('heat_parent') or {}).get(
        'execution_id')


def own_running(client, running, ours, names, parents):
    """The executions of ``running`` that the scenario started.

    An execution is the scenario's if its workflow is one of ``names``
    (its stack's, its nested stacks') or if its ``heat_parent`` names an
    execution of the scenario, at any depth (a nested stack of a nested
    stack). ``ours``: the ids known to be the scenario's, grown in place;
    ``parents``: a cache of ``parent_execution`` by id, shared between
    polls.
    """
    mine = [e for e in running if e.workflow_name in names]
    ours.update(e.id for e in mine)
    others = [e for e in running if e.workflow_name not in names]
    found = True
    while found:
        found = False
        for execution in list(others):
            if execution.id not in parents:
                parents[execution.id] = parent_execution(client,
                                                         execution.id)
            if parents[execution.id] in ours:
                ours.add(execution.id)
                mine.append(execution)
                others.remove(execution)
                found = True
    return mine


def mistral_problems(cloud, record, timeout=30, alone=True):
    """Plugin mode: what Mistral ran for the scenario, as problems.

    One execution of the stack's workflow per traversal, each nested
    stack's executions linked to the parent task they ran under, and no
    execution left RUNNING. ``alone``: the scenario ran by itself on the
    cloud, so any RUNNING execution of any workflow is its own (nested
    stacks included); otherwise (scenarios at once: ``test_parity``,
    ``difftest --jobs``) only the scenario's own executions are checked:
    those of its stack's and its nested stacks' workflows, and any whose
    ``heat_parent`` leads to one of them (``own_running``).
    """
    client = cloud.mistral()
    problems = []
    name = 'heat_stack_%s' % record.stack_id
    executions = client.executions.list(workflow_name=name, limit=-1)
    expected = traversal_count(record)
    if len(executions) != expected:
        problems.append('%d executions of %s for %d traversals: %s' % (
            len(executions), name, expected,
            [(e.description, e.state) for e in executions]))
    ours = {e.id for e in executions}
    nested_executions = []
    for nested in sorted(record.nested):
        found = client.executions.list(
            workflow_name='heat_stack_%s' % nested, limit=-1)
        if not found:
            problems.append('no Mistral execution ran nested stack %s'
                            % nested)
        nested_executions.extend(found)
        ours.update(e.id for e in found)
    for execution in nested_executions:
        problems.extend(nested_link_problems(client, execution, ours))
    names = {name} | {'heat_stack_%s' % n for n in record.nested}
    parents = {}
    deadline = time.time() + timeout
    while True:
        running = [e for e in client.executions.list(limit=-1)
                   if e.state in ('RUNNING', 'IDLE', 'PAUSED')]
        if not alone:
            running = own_running(client, running, ours, names, parents)
        if not running or time.time() > deadline:
            break
        time.sleep(1)
    for execution in running:
        problems.append('execution %s (%s) still %s %ds after the scenario'
                        % (execution.id, execution.description,
                           execution.state, timeout))
    return problems
