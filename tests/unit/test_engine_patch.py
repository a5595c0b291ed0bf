"""The Mistral-side patches: start_task without the workflow spec, the
first task of a commit started in-process, compiled Jinja expressions kept,
no heartbeats for asynchronous actions, a workflow execution's data columns
loaded in one query, join tasks checked right after the commit that may
start them, no queries for what a transaction already holds.

Mistral's options and Heat's clash in one process, so the checks run in a
child process that loads Mistral's configuration as a Mistral server does
(tests/unit/mistral_side/check_*.py).
"""

import importlib.util
import sys

import fixtures
import testtools

from heat_mistral_engine.mistral import engine_patch
from tests.unit import base
from tests.unit import mistral_side

CHECK = 'engine_patch'
CHECK_EXPRESSIONS = 'expression_cache'
CHECK_HEARTBEATS = 'heartbeats'
CHECK_JOINS = 'prompt_joins'
CHECK_LOCAL_START = 'local_task_start'
CHECK_DATA_GROUP = 'execution_data_group'
CHECK_QUERIES = 'redundant_queries'
# Mistral's query of a task execution by id (its secure query: the
# project's rows or shared ones), as the child records it.
TASK_BY_ID = ('task_executions_v2 WHERE (task_executions_v2.project_id IS '
              'NULL OR task_executions_v2.scope = ?) AND '
              'task_executions_v2.id = ?')


def run_check(*args, check=CHECK):
    return mistral_side.run_check(check, *args)


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class EnginePatchTest(base.TestCase):

    def test_start_task_no_longer_sends_the_spec(self):
        seen = run_check()
        self.assertIsNone(seen['incompatibility'])
        self.assertEqual('start_task', seen['method'])
        self.assertEqual('task-1', seen['task_ex_id'])
        self.assertEqual({'other': 'kept'}, seen['params'])
        self.assertTrue(seen['installed_again'])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = run_check('disabled')
        self.assertEqual({'wf_spec': 'THE SPEC', 'other': 'kept'},
                         seen['params'])
        self.assertFalse(seen['installed_again'])


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class ExpressionCacheTest(base.TestCase):

    def test_an_expression_is_compiled_once(self):
        seen = run_check(check=CHECK_EXPRESSIONS)
        self.assertIsNone(seen['incompatibility'])
        self.assertTrue(seen['cached'])
        self.assertTrue(seen['installed_again'])
        self.assertEqual(1, seen['compilations'])

    def test_results_come_from_each_context(self):
        # The cache holds code, never data: the same text gives each
        # context's value, and errors are still raised.
        seen = run_check(check=CHECK_EXPRESSIONS)
        self.assertEqual({'a': 1}, seen['first'])
        self.assertEqual('other', seen['second'])
        self.assertTrue(seen['undefined_fails'])

    def test_sandbox_still_applies(self):
        self.assertTrue(run_check(check=CHECK_EXPRESSIONS)['unsafe_fails'])

    def test_custom_functions_loaded_once_and_copied(self):
        self.assertTrue(
            run_check(check=CHECK_EXPRESSIONS)['functions_kept'])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = run_check('disabled', check=CHECK_EXPRESSIONS)
        self.assertFalse(seen['cached'])
        self.assertFalse(seen['installed_again'])
        self.assertEqual(3, seen['compilations'])


class OutsideMistralTest(base.TestCase):

    def test_does_nothing_outside_a_mistral_process(self):
        # Heat-side tests import the actions too; they must not pull in
        # Mistral's engine (its options clash with Heat's).
        self.assertNotIn('mistral.config', sys.modules)
        self.assertFalse(engine_patch.install())
        self.assertFalse(engine_patch.install_expression_cache())
        self.assertNotIn('mistral.rpc.clients', sys.modules)
        self.assertNotIn('mistral.expressions', sys.modules)


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class AsyncHeartbeatTest(base.TestCase):

    def test_only_synchronous_actions_send_heartbeats(self):
        seen = run_check(check=CHECK_HEARTBEATS)
        self.assertIsNone(seen['incompatibility'])
        self.assertTrue(seen['installed_again'])
        self.assertEqual([['ax-sync']], seen['heartbeats'])
        # Both actions still ran; only the synchronous one is completed
        # by the executor (the asynchronous one by heat-engine).
        self.assertEqual(['async', 'sync'], seen['ran'])
        self.assertEqual(['ax-sync'], seen['completed'])
        self.assertEqual([], seen['left_registered'])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = run_check('disabled', check=CHECK_HEARTBEATS)
        self.assertFalse(seen['installed_again'])
        self.assertEqual([['ax-async'], ['ax-sync']], seen['heartbeats'])
        self.assertEqual(['async', 'sync'], seen['ran'])


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class PromptJoinsTest(base.TestCase):

    def test_each_join_found_is_checked_after_the_commit(self):
        seen = run_check(check=CHECK_JOINS)
        self.assertIsNone(seen['incompatibility'])
        self.assertTrue(seen['installed'])
        self.assertTrue(seen['installed_again'])
        self.assertTrue(seen['finished'])
        # Checked in Mistral's post-commit threads, after the completing
        # function returned and after the operations queued with it
        # (Mistral's scheduled checks); operations queued behind the checks
        # still run and can queue their own (the runner's queue is kept).
        self.assertEqual([['found', ['join-1', 'join-2']], ['later'],
                          ['check', 'join-1', True],
                          ['check', 'join-2', True],
                          ['after checks'], ['last']], seen['events'])

    def test_a_failing_check_stops_nothing_else(self):
        seen = run_check('failing', check=CHECK_JOINS)
        self.assertTrue(seen['finished'])
        self.assertEqual(['check', 'join-2', True], seen['events'][3])
        self.assertEqual(['last'], seen['events'][-1])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = run_check('disabled', check=CHECK_JOINS)
        self.assertFalse(seen['installed'])
        self.assertFalse(seen['installed_again'])
        self.assertEqual([['found', ['join-1', 'join-2']], ['later'],
                          ['after checks'], ['last']], seen['events'])


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class LocalTaskStartTest(base.TestCase):

    @staticmethod
    def without_threads_own(events):
        """The events of the queue runner, in its order.

        What the local start queues runs in a thread of its own, so its
        place among the runner's events is not fixed.
        """
        return [e for e in events if e[0] != 'queued by the start']

    def test_first_task_of_a_commit_starts_here_the_rest_over_rpc(self):
        seen = run_check(check=CHECK_LOCAL_START)
        self.assertIsNone(seen['incompatibility'])
        self.assertTrue(seen['installed'])
        self.assertTrue(seen['installed_again'])
        self.assertTrue(seen['lean_kept'])
        self.assertTrue(seen['finished'])
        # The casts still leave out the workflow spec (lean_start_task);
        # operations queued behind the local start run and can queue
        # their own (the runner's queue is kept); outside a queue runner
        # start_task is sent over RPC.
        self.assertEqual([['here', 'task-1', True],
                          ['cast', 'task-2', []], ['cast', 'task-3', []],
                          ['after starts'], ['last'],
                          ['cast', 'task-outside', []]],
                         self.without_threads_own(seen['events']))
        # The started task's own post-commit work ran.
        self.assertIn(['queued by the start', 'task-1'], seen['events'])

    def test_database_deadlock_is_retried(self):
        seen = run_check('deadlock', check=CHECK_LOCAL_START)
        self.assertTrue(seen['finished'])
        self.assertEqual([['here', 'task-1', True]] * 2,
                         seen['events'][:2])
        self.assertEqual(1, seen['events'].count(
            ['queued by the start', 'task-1']))

    def test_a_failing_start_stops_nothing_else(self):
        seen = run_check('failing', check=CHECK_LOCAL_START)
        self.assertTrue(seen['finished'])
        self.assertEqual([['here', 'task-1', True],
                          ['cast', 'task-2', []], ['cast', 'task-3', []],
                          ['after starts'], ['last'],
                          ['cast', 'task-outside', []]], seen['events'])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = run_check('disabled', check=CHECK_LOCAL_START)
        self.assertFalse(seen['installed'])
        self.assertFalse(seen['installed_again'])
        self.assertEqual([['cast', 'task-1', []], ['cast', 'task-2', []],
                          ['cast', 'task-3', []], ['after starts'],
                          ['last'], ['cast', 'task-outside', []]],
                         seen['events'])


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class ExecutionDataGroupTest(base.TestCase):

    @staticmethod
    def column_loads(read):
        """The SELECTs of ``read`` after the one that loads the row."""
        return [q.split(' FROM ')[0] for q in read['selects'][1:]]

    def test_first_read_loads_input_params_and_context_together(self):
        seen = run_check(check=CHECK_DATA_GROUP)
        self.assertIsNone(seen['incompatibility'])
        self.assertTrue(seen['installed'])
        self.assertTrue(seen['installed_again'])
        self.assertEqual(
            ['SELECT workflow_executions_v2.input, '
             'workflow_executions_v2.params, workflow_executions_v2.context'],
            self.column_loads(seen['first']))
        self.assertEqual({'params': {'env': {}}, 'context': {'var': 1},
                          'input': {'token': 'T'}},
                         seen['first']['values'])

    def test_spec_stays_on_its_own(self):
        seen = run_check(check=CHECK_DATA_GROUP)
        self.assertEqual(['SELECT workflow_executions_v2.spec'],
                         self.column_loads(seen['spec']))

    def test_a_column_changed_before_the_load_keeps_its_change(self):
        seen = run_check(check=CHECK_DATA_GROUP)
        self.assertEqual(
            ['SELECT workflow_executions_v2.input, '
             'workflow_executions_v2.params'],
            self.column_loads(seen['changed']))
        self.assertEqual({'changed': True},
                         seen['changed']['values']['context'])
        self.assertEqual({'context': {'changed': True}}, seen['stored'])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = run_check('disabled', check=CHECK_DATA_GROUP)
        self.assertFalse(seen['installed'])
        self.assertFalse(seen['installed_again'])
        self.assertEqual(['SELECT workflow_executions_v2.params',
                          'SELECT workflow_executions_v2.context',
                          'SELECT workflow_executions_v2.input'],
                         self.column_loads(seen['first']))

    def test_a_column_mistral_lacks_is_refused(self):
        seen = run_check('missing-column', check=CHECK_DATA_GROUP)
        self.assertEqual('WorkflowExecution.gone is not a deferred column',
                         seen['incompatibility'])
        self.assertFalse(seen['installed'])
        self.assertEqual(['SELECT workflow_executions_v2.params',
                          'SELECT workflow_executions_v2.context',
                          'SELECT workflow_executions_v2.input'],
                         self.column_loads(seen['first']))


class ExecutionDataGroupCheckTest(base.TestCase):
    """What install refuses without looking at Mistral's models."""

    def test_sqlalchemy_version_outside_the_checked_range(self):
        self.useFixture(fixtures.MonkeyPatch(
            'sqlalchemy.__version__', '3.0.0'))
        self.useFixture(fixtures.MonkeyPatch(
            'heat_mistral_engine.mistral.engine_patch._release_problem',
            lambda: None))
        self.assertEqual(
            'SQLAlchemy 3.0.0 is not a release this patch was read for',
            engine_patch.execution_data_group_incompatibility())


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class RedundantQueriesTest(base.TestCase):
    """task() and state changes without the queries the transaction spares.

    The child runs Mistral's own expression evaluation and database API on
    SQLite, where oslo.db re-selects an updated row's key as on MySQL.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seen = run_check(check=CHECK_QUERIES)
        cls.unpatched = run_check('disabled', check=CHECK_QUERIES)

    def test_installed_once(self):
        self.assertIsNone(self.seen['incompatibility'])
        self.assertTrue(self.seen['installed'])
        self.assertTrue(self.seen['installed_again'])

    def test_publish_reads_the_completing_task_from_the_transaction(self):
        self.assertEqual({'node_1': 'RECEIPT'}, self.seen['published'])
        self.assertNotIn(TASK_BY_ID, self.seen['publish_selects'])
        self.assertIn(TASK_BY_ID, self.unpatched['publish_selects'])
        self.assertEqual(self.unpatched['published'], self.seen['published'])

    def test_a_task_the_transaction_does_not_hold_is_queried(self):
        self.assertEqual({'node_1': 'RECEIPT'}, self.seen['cold'])
        self.assertEqual(self.unpatched['cold_selects'],
                         self.seen['cold_selects'])
        self.assertIn(TASK_BY_ID, self.seen['cold_selects'])

    def test_a_task_named_in_the_call_is_queried_by_name(self):
        self.assertEqual('RUNNING', self.seen['by_name'])
        self.assertEqual(self.unpatched['by_name_selects'],
                         self.seen['by_name_selects'])

    def test_state_changes_send_no_select(self):
        self.assertEqual([], self.seen['swap_selects'])
        self.assertEqual([], self.seen['wf_swap_selects'])
        self.assertEqual(
            ['task_executions_v2 WHERE task_executions_v2.id = ?'],
            self.unpatched['swap_selects'])
        self.assertEqual(
            ['workflow_executions_v2 WHERE workflow_executions_v2.id = ?'],
            self.unpatched['wf_swap_selects'])

    def test_state_changes_have_mistrals_results(self):
        for seen in (self.seen, self.unpatched):
            self.assertEqual('SUCCESS', seen['swapped_state'])
            self.assertTrue(seen['same_object'])
            # Compare-and-swap: the row is no longer RUNNING.
            self.assertIsNone(seen['stale'])
            self.assertEqual('SUCCESS', seen['wf_swapped_state'])
            self.assertEqual(['SUCCESS', 'SUCCESS'], seen['stored'])

    def test_disabled_option_leaves_mistral_alone(self):
        self.assertFalse(self.unpatched['installed'])
        self.assertFalse(self.unpatched['installed_again'])


class RedundantQueriesCheckTest(base.TestCase):
    """What install refuses without patching Mistral."""

    def test_another_mistral_release_is_refused(self):
        self.useFixture(fixtures.MonkeyPatch(
            'heat_mistral_engine.mistral.engine_patch._release_problem',
            lambda: 'Mistral 24.0.0 is not a release this patch was read '
                    'for'))
        self.assertEqual(
            'Mistral 24.0.0 is not a release this patch was read for',
            engine_patch.redundant_query_incompatibility())
