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

"""The scenarios of issue 4's parity suite, one per line of the issue.

Each is plain data: templates in templates/, steps from dsl. A scenario
whose comparison is known to fail names the divergence in ``DIVERGENCES``
(the test then expects the failure, so a fix shows as an unexpected
success).
"""

from tests.parity.dsl import Abandon
from tests.parity.dsl import Adopt
from tests.parity.dsl import Cancel
from tests.parity.dsl import ClearHook
from tests.parity.dsl import Create
from tests.parity.dsl import Delete
from tests.parity.dsl import Pause
from tests.parity.dsl import PollHooks
from tests.parity.dsl import PreviewUpdate
from tests.parity.dsl import Restore
from tests.parity.dsl import Scenario
from tests.parity.dsl import SignalHandle
from tests.parity.dsl import Snapshot
from tests.parity.dsl import StackAction
from tests.parity.dsl import Update
from tests.parity.dsl import WaitResource
from tests.parity.dsl import WaitStack
from tests.parity.dsl import WaitStackStatus

CHAIN = 'chain.yaml'
SLOW = 'slow.yaml'
RANDOM = ('rnd',)
# How long a resource acted on mid-action (cancel, delete, a second
# update) keeps acting: it must outlast the window from WaitResource's
# poll seeing it IN_PROGRESS to the acting step's requests reaching Heat
# (Record.act_latencies). That window used to include an `openstack`
# process's start, 10 s on a busy 2-core machine and 30 s or more at a
# load of 20 to 30, and 60 s still flapped once there; steps now run the
# client's commands in process (cli.py), and the window is the poll
# interval plus two or three requests: at most MEASURED_ACT_SECS in the
# runs of doc/source/parity.rst ("Timing"). SLOW_SECS keeps several times
# that as the margin for a slower heat-api, without waiting a minute in
# every supersede and rollback.
MEASURED_ACT_SECS = 8.5
SLOW_SECS = 30

# Native Heat's own order, which the plugin keeps: after a is replaced
# (UpdateReplace, or a FAILED resource recreated by a later update or a
# rollback) and its dependents are left alone, their stored requirements
# still name the old a, so the delete graph has no edge from the new a to
# them and Heat may delete a first. Seen in both modes.
HEAT_DELETE_AFTER_REPLACE = (
    'Heat deletes a replaced resource before its unchanged dependents')
B_REPLACED = {'volatile_outputs': RANDOM, 'unordered': [
    ('DELETE', 'b', 'c', HEAT_DELETE_AFTER_REPLACE),
    ('DELETE', 'b', 'rnd', HEAT_DELETE_AFTER_REPLACE)]}

SCENARIOS = [
    Scenario('update_parameters_existing', volatile_outputs=RANDOM, doc=(
        'Parameter-only update (in place), --existing with a changed '
        'parameter, preview-update of an unchanged stack.'), steps=[
        Create(CHAIN),
        Update(CHAIN, params={'greeting': 'bye'},
               label='parameter-only update'),
        Update(existing=True, params={'greeting': 'third'},
               label='update --existing'),
        PreviewUpdate(existing=True, label='preview-update unchanged'),
        Delete(),
    ]),
    Scenario('update_add_remove', volatile_outputs=RANDOM, doc=(
        'Template update: n removed, e added, b updated in place.'), steps=[
        Create(CHAIN),
        PreviewUpdate(CHAIN.replace('.yaml', '_v2.yaml')),
        Update(CHAIN.replace('.yaml', '_v2.yaml')),
        Delete(),
    ]),
    Scenario('update_replace', volatile_outputs=RANDOM, unordered=[
        ('DELETE', 'a', 'b', HEAT_DELETE_AFTER_REPLACE)], doc=(
        'UpdateReplace of a: the replacement is created before the old a '
        'is deleted, and the old one is cleaned up.'), steps=[
        Create(CHAIN),
        Update(CHAIN, params={'replace_value': 'r2'}),
        Delete(),
    ]),
    Scenario('create_fails_rollback', volatile_outputs=RANDOM, doc=(
        'Failed create with --enable-rollback rolls back.'), steps=[
        Create(CHAIN, params={'fail_b': 'true'},
               extra=['--enable-rollback']),
        Delete(),
    ]),
    Scenario('create_fails_no_rollback', volatile_outputs=RANDOM, doc=(
        'Failed create without --enable-rollback (the client default, '
        'disable_rollback) stays CREATE_FAILED.'), steps=[
        Create(CHAIN, params={'fail_b': 'true'}),
        Delete(),
    ]),
    Scenario('update_fails_rollback', **B_REPLACED, doc=(
        'Failed update with --rollback enabled rolls back.'), steps=[
        Create(CHAIN),
        Update(existing=True, params={'fail_b': 'true', 'greeting': 'x'},
               extra=['--rollback', 'enabled']),
        Delete(),
    ]),
    # Issue 23's two failures. Each traversal of the plugin used to update
    # one workflow definition in place, and Mistral's engine caches
    # definitions by (id, updated_at in whole seconds): a rollback that
    # started within the second of the failed update ran the update's
    # graph (ROLLBACK_FAILED, "Mistral passed data for 'cleanup:N'..."),
    # and a delete right after a rollback the rollback's ("... is not a
    # node of traversal"). tests/functional/test_lifecycle_races.py
    # repeats these sequences until the race would show.
    Scenario(
        'replace_add_remove_then_failed_update_rolls_back',
        volatile_outputs=RANDOM, unordered=[
            ('DELETE', 'a', 'b', HEAT_DELETE_AFTER_REPLACE),
            ('DELETE', 'b', 'c', HEAT_DELETE_AFTER_REPLACE),
            ('DELETE', 'b', 'rnd', HEAT_DELETE_AFTER_REPLACE)],
        doc=('Update replacing a, adding e and removing n; then an update '
             'that replaces a again and fails b with --rollback enabled; '
             'delete.'),
        steps=[
            Create(CHAIN),
            Update(CHAIN.replace('.yaml', '_v2.yaml'),
                   params={'replace_value': 'r2'}),
            Update(CHAIN.replace('.yaml', '_v2.yaml'),
                   params={'replace_value': 'r3', 'fail_b': 'true',
                           'greeting': 'x'},
                   extra=['--rollback', 'enabled'], label='failing update'),
            Delete(),
        ]),
    Scenario(
        'delete_during_rollback',
        doc=('An update that fails with --rollback enabled, whose rollback '
             'takes slow back to its SLOW_SECS update; delete while it '
             'runs.'),
        steps=[
            Create(SLOW, params={'wait': SLOW_SECS}),
            Update(existing=True, params={'wait': 0, 'value': 'v2',
                                          'fail_z': 'true'},
                   extra=['--rollback', 'enabled'], wait=False,
                   label='failing update'),
            WaitStackStatus('ROLLBACK_IN_PROGRESS'),
            WaitResource('slow', 'UPDATE_IN_PROGRESS'),
            Delete(),
        ]),
    Scenario('update_fails_disable_rollback', **B_REPLACED, doc=(
        'Failed update with --rollback disabled stays UPDATE_FAILED; a '
        'later good update recovers.'), steps=[
        Create(CHAIN, extra=['--enable-rollback']),
        Update(existing=True, params={'fail_b': 'true', 'greeting': 'x'},
               extra=['--rollback', 'disabled']),
        Update(existing=True, params={'fail_b': 'false'},
               label='recovering update'),
        Delete(),
    ]),
    Scenario('cancel_update_rollback', doc=(
        'openstack stack cancel of a running update rolls back.'), steps=[
        Create(SLOW, params={'wait': 0}),
        Update(existing=True, params={'wait': SLOW_SECS, 'value': 'v2'},
               wait=False),
        WaitResource('slow', 'UPDATE_IN_PROGRESS'),
        Cancel(rollback=True),
        Delete(),
    ]),
    Scenario('cancel_update_no_rollback', doc=(
        'openstack stack cancel --no-rollback of a running update; a later '
        'update recovers.'), steps=[
        Create(SLOW, params={'wait': 0}),
        Update(existing=True, params={'wait': SLOW_SECS, 'value': 'v2'},
               wait=False),
        WaitResource('slow', 'UPDATE_IN_PROGRESS'),
        Cancel(rollback=False),
        Update(existing=True, params={'wait': 0, 'value': 'v3'},
               label='recovering update'),
        Delete(),
    ]),
    Scenario('cancel_create_no_rollback', doc=(
        'openstack stack cancel --no-rollback of a running create.'), steps=[
        Create(SLOW, params={'wait': SLOW_SECS}, wait=False),
        WaitResource('slow', 'CREATE_IN_PROGRESS'),
        Cancel(rollback=False),
        Delete(),
    ]),
    Scenario('delete_during_create', doc=(
        'openstack stack delete while the create runs.'), steps=[
        Create(SLOW, params={'wait': SLOW_SECS}, wait=False),
        WaitResource('slow', 'CREATE_IN_PROGRESS'),
        Delete(),
    ]),
    Scenario('delete_during_update', doc=(
        'openstack stack delete while an update runs.'), steps=[
        Create(SLOW, params={'wait': 0}),
        Update(existing=True, params={'wait': SLOW_SECS, 'value': 'v2'},
               wait=False),
        WaitResource('slow', 'UPDATE_IN_PROGRESS'),
        Delete(),
    ]),
    Scenario('update_supersedes_update', doc=(
        'A second update while the first runs: the first traversal stops, '
        'the second wins.'), steps=[
        Create(SLOW, params={'wait': 0}),
        Update(existing=True, params={'wait': SLOW_SECS, 'value': 'v2'},
               wait=False),
        WaitResource('slow', 'UPDATE_IN_PROGRESS'),
        Update(existing=True, params={'wait': 0, 'value': 'v3'},
               label='superseding update'),
        Delete(),
    ]),
    # update_preempts_nested_update*: see PREEMPT_OFFSETS below.
    Scenario('hooks_from_environment', volatile_outputs=RANDOM, doc=(
        'pre/post create and update and pre-delete hooks on a, from the '
        'environment: listed by hook poll, released by hook clear (or, for '
        'post-* hooks, which the CLI neither lists nor clears, found in '
        'the events and released by a signal).'), steps=[
        Create(CHAIN, environments=['hooks_env.yaml'], wait=False),
        PollHooks([('a', 'pre-create')]),
        ClearHook('a', 'pre-create'),
        PollHooks([('a', 'post-create')]),
        ClearHook('a', 'post-create'),
        WaitStack('created'),
        Update(existing=True, params={'greeting': 'x'}, wait=False),
        PollHooks([('a', 'pre-update')]),
        ClearHook('a', 'pre-update'),
        PollHooks([('a', 'post-update')]),
        ClearHook('a', 'post-update'),
        WaitStack('updated'),
        Delete(wait=False),
        PollHooks([('a', 'pre-delete')]),
        ClearHook('a', 'pre-delete'),
        WaitStack('deleted'),
    ]),
    Scenario('hooks_pre_create_option', volatile_outputs=RANDOM, doc=(
        'stack create --pre-create b: a completes, b waits, c does not '
        'start until hook clear.'), steps=[
        Create(CHAIN, extra=['--pre-create', 'b'], wait=False),
        PollHooks([('b', 'pre-create')]),
        ClearHook('b', 'pre-create'),
        WaitStack('created'),
        Delete(),
    ]),
    Scenario('stack_timeout', doc=(
        'stack create --timeout 1 with a resource that takes 10 minutes: '
        'the stack fails after one minute.'), steps=[
        Create('timeout.yaml', extra=['--timeout', '1']),
        Delete(),
    ]),
    Scenario('nested_stacks', doc=(
        'ResourceGroup, provider template and OS::Heat::Stack, created, '
        'updated (group grows, values change) and deleted.'), steps=[
        Create('nested.yaml', environments=['nested_env.yaml']),
        Update('nested.yaml', environments=['nested_env.yaml'],
               params={'count': 3, 'value': 'v2'}),
        Delete(),
    ]),
    Scenario('wait_condition', doc=(
        'A wait condition completes when its handle is signalled (curl_cli, '
        'as a server would); the resource after it gets the data.'), steps=[
        Create('waitcondition.yaml', wait=False),
        WaitResource('wait', 'CREATE_IN_PROGRESS'),
        SignalHandle('handle', {'status': 'SUCCESS', 'reason': 'ready',
                                'data': 'payload', 'id': '1'}),
        WaitStack('signalled'),
        Delete(),
    ]),
    Scenario('check_suspend_resume', volatile_outputs=RANDOM, doc=(
        'stack check, suspend and resume.'), steps=[
        Create(CHAIN),
        StackAction('check'),
        StackAction('suspend'),
        StackAction('resume'),
        Delete(),
    ]),
    Scenario('snapshot_restore', volatile_outputs=RANDOM, doc=(
        'Snapshot, an update, restore of the snapshot, then the delete of '
        'a stack with snapshots: all but the create and the update stay on '
        'Heat\'s own path with the plugin.'), steps=[
        Create(CHAIN),
        Snapshot('s1'),
        Update(CHAIN, params={'greeting': 'bye'}),
        Restore('s1'),
        Delete(),
    ]),
    Scenario('abandon_adopt', volatile_outputs=RANDOM, doc=(
        'Abandon, adopt under the same name (both Heat\'s own path), then '
        'an update and a delete of the adopted stack.'), steps=[
        Create(CHAIN),
        Abandon(),
        Adopt(),
        Update(CHAIN, params={'greeting': 'bye'}),
        Delete(),
    ]),
]


# Seconds between the nested stack's parent resource showing
# UPDATE_IN_PROGRESS and the preempting update (issue 23, item 6). At 0 the
# update reaches Heat within about a second: the nested stack's own
# traversal may not have been handed to Mistral yet, so it starts after its
# parent's traversal was superseded (the race that left its execution
# linked to no task); later offsets find the nested update running, which
# the preempting update cancels (Heat's handle_preempt). Each must stay
# well under SLOW_SECS, with MEASURED_ACT_SECS on top.
PREEMPT_OFFSETS = (0, 1, 3, 6)


def preempt_scenario(offset):
    """A second update ``offset`` seconds into a nested stack's update."""
    name = 'update_preempts_nested_update'
    wait = [WaitResource('member', 'UPDATE_IN_PROGRESS')]
    if offset:
        name += '_after_%ds' % offset
        wait.append(Pause(offset))
    steps = [
        Create('preempt.yaml', environments=['preempt_env.yaml']),
        Update('preempt.yaml', environments=['preempt_env.yaml'],
               params={'wait': SLOW_SECS, 'value': 'v2'}, wait=False),
    ] + wait + [
        Update('preempt.yaml', environments=['preempt_env.yaml'],
               params={'wait': 0, 'value': 'v3'}, label='preempting update'),
        Delete(),
    ]
    return Scenario(name, steps=steps, doc=(
        'A second update %d s after the first one began updating a nested '
        'stack: Heat asks the nested stack to give way (handle_preempt '
        'cancels its update, without rollback), the first update\'s node '
        'fails (the stack\'s UPDATE_FAILED event, no state stored) and the '
        'second update completes, once the nested stack\'s slow resource '
        'has finished its first update.' % offset))


SCENARIOS.extend(preempt_scenario(offset) for offset in PREEMPT_OFFSETS)

# Scenario name -> the divergence that makes its comparison fail (see the
# report in doc/source and the commit that added the entry).
DIVERGENCES = {
}
