"""The one place that touches Mistral's internals (in Mistral's processes).

Seven patches, each with its own option in ``[heat_mistral_engine]`` and each
applied only to a Mistral whose version and signatures are the ones read
here (otherwise Mistral is left alone and a warning says why). They take
effect in each Mistral process when that process first loads this
package's actions (Mistral loads action plugins on first use).

``lean_start_task`` (``install``): Mistral 23's engine starts each task
with an RPC cast, ``EngineClient.start_task``, that carries the whole
workflow spec as an extra parameter (``wf_spec``). The engine that receives
it never reads it (``DefaultEngine.start_task`` swallows ``**params``), but
serialising it costs CPU in proportion to the spec for every task. The cost
grows quadratically with fan-out: for a generated workflow of 500 tasks fed
by one root, each cast took 2.6 s of CPU and carried 24 MiB. ``install``
makes ``start_task`` drop that one parameter and changes nothing else; only
the very first task a process starts still carries the spec.

``local_task_start`` (``install_local_task_start``): Mistral 23's engine
creates a task in the transaction that completed its predecessor, and
after the commit sends ``start_task`` over RPC to any engine, itself
included: a broker round trip and a hand-over between threads on the
critical path of every dependency (about 15 ms per resource of a chain on
a 2-core machine). The patch starts the first task that a post-commit
queue starts in that queue's own thread, in this process, through the
same ``DefaultEngine.start_task`` the RPC server calls (retried on
database errors as Mistral's RPC entry points are); the other tasks of
the queue (a fan-out) still go over RPC, so they spread over the engines
as before. A process that dies before the local start commits leaves the
task IDLE, as one that dies before its RPC cast is sent or received does.

``async_heartbeats_off`` (``install_async_heartbeat_skip``): Mistral
23's executor registers every action it runs for heartbeats
(``action_heartbeat_sender.add_action``), which sends one RPC to the
engine and makes the engine write ``last_heartbeat`` in a transaction of
its own, and that for an asynchronous action such as ``heat.run_node``
too, whose ``run`` returns at once. Nothing ever reads those heartbeats:
the checker only looks at synchronous actions
(``get_running_expired_sync_action_executions`` filters on ``is_sync``),
and the sender forgets an action as soon as its ``run`` returns. The patch
makes ``DefaultExecutor.run_action`` run an action whose ``is_sync()`` is
False without registering it; synchronous actions (operator hook
workflows' actions, for example) keep their heartbeats.

``cache_expressions`` (``install_expression_cache``): for every Jinja
expression it evaluates, Mistral 23 compiles the expression's text into
Python code again (``Environment.compile_expression``: Jinja's lexer,
parser, code generator and ``compile``) and loads its custom functions
from their entry points again (``get_custom_functions``, a stevedore
``ExtensionManager``): about 0.8 ms of CPU for ``{{ _.token }}``, while
evaluating the compiled expression costs 0.03 ms. Each task of a generated
workflow evaluates five or more expressions (its action input, its
publish). The patch keeps the compiled expressions of the last
``EXPRESSION_CACHE_SIZE`` texts and the custom functions, which are fixed
for the life of a process (entry points are read once). A compiled
expression holds no data: it is the code of the text, run in Jinja's
sandbox with a new context at every call, as before.

``load_execution_data_together`` (``install_execution_data_group``):
Mistral 23 defers a workflow execution's ``input``, ``params`` and
``context`` columns, each on its own, so the first read of each in a
transaction is a query of its own. Every transaction that completes or
starts a task reads all three (``params`` to look for notifiers, the other
two to evaluate expressions): six of the 27 queries Mistral's engine sent
per resource of a 100-resource chain (two with the patch). The patch puts
the three in one SQLAlchemy deferred-column group, so that the first
read loads them together; the columns stay deferred (a query that does not
read them does not load them), and SQLAlchemy's group load leaves a column
already changed in the transaction as it is.

``prompt_joins`` (``install_prompt_joins``): a Mistral 23 task with
``join`` (every resource that needs more than one other) is created
WAITING, and only a job of Mistral's scheduler starts it:
``_check_affected_tasks`` stores a job that re-reads the join's inbound
tasks after the completing transaction commits, and the scheduler polls
its jobs once per ``[scheduler] fixed_delay`` (1 s) and runs them one after
another in a single thread. So every join waits for the next poll, and in
a layered stack every resource after the first layer is started by that
one thread. The patch also runs that same check
(``task_handler._refresh_task_state``) right after the commit, in the
thread Mistral already runs its post-commit operations in; checks of one
join requested while one runs are merged into one more run
(``coalesced_calls``). Mistral's scheduled job stays as it was, and is
stored before the prompt check runs: if the prompt check fails or the
process dies, the job starts the join as before, and when the prompt
check has started it the job finds it RUNNING and does nothing. The check
runs after the commit, in a transaction of its own, as the scheduled
job's does (the reason Mistral does not check in the completing
transaction: two inbound tasks finishing together would each miss the
other's commit).

``skip_redundant_queries`` (``install_redundant_query_skip``): three of
the queries Mistral 23's engine sends for each task read what its
transaction already holds. The publish of a task of a generated workflow
(``{{ task().result.node }}``) calls ``task()``, which selects the task
being completed by id (a full row, about 4% of the engine's CPU in a
100-resource chain) although the completing transaction has it in its
session; the patch takes it from the session's identity map, which is the
object the query would return, and queries as before when it is not
there (another task's name, no transaction). Each change of a task's or a
workflow's state is a compare-and-swap (``update_on_match``: UPDATE ...
WHERE id AND state), which oslo.db follows, on MySQL and SQLite, by a
SELECT of the updated row's primary key, the id the UPDATE was given; the
patch makes the same UPDATE, checks that it matched one row, and makes the
object persistent the same way (``manufacture_persistent_object``),
without that SELECT (two per resource: the task's RUNNING and SUCCESS).

For ``direct_completions`` (``completion_server``), which patches nothing,
this module also holds what that server reads of Mistral: its release and
``DefaultEngine.on_action_complete``'s signature
(``direct_completion_incompatibility``), whether the API authenticates,
whether this process is an engine (``in_engine_process``), and
the call into the engine with the API's anonymous context
(``complete_action``).
"""

import contextlib
import functools
import importlib.metadata
import inspect
import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging

from heat_mistral_engine.mistral import coalesced_calls
from heat_mistral_engine.mistral import options

LOG = logging.getLogger(__name__)

SUPPORTED_MISTRAL = ((23, 0), (24, 0))   # [min, max)
# EngineClient.start_task and DefaultEngine.start_task take the same.
_START_TASK_PARAMS = ('self', 'task_ex_id', 'first_run', 'waiting',
                      'triggered_by', 'rerun', 'reset', 'params')
_COMPILE_PARAMS = ('self', 'source', 'undefined_to_none')
_RUN_ACTION_PARAMS = ('self', 'action', 'action_ex_id', 'safe_rerun',
                      'exec_ctx', 'redelivered', 'target', 'async_',
                      'timeout')
_DO_RUN_ACTION_PARAMS = ('self', 'action', 'action_ex_id', 'exec_ctx',
                         'redelivered', 'safe_rerun', 'timeout')
_ON_ACTION_COMPLETE_PARAMS = ('self', 'action_ex_id', 'result',
                              'wf_action', 'async_')
_QUEUE_LOCAL = '__operation_queue_thread_local'
_TASK_FUNCTION_PARAMS = ('context', 'task_name')
_STATE_UPDATE_PARAMS = ('id', 'cur_state', 'state')
# WorkflowExecution's deferred columns that engine transactions read
# together; ``spec`` (the whole workflow, cached by Mistral's spec parser)
# and ``output`` (read when the workflow ends) stay on their own.
EXECUTION_DATA_COLUMNS = ('input', 'params', 'context')
EXECUTION_DATA_GROUP = 'hme_execution_data'
SUPPORTED_SQLALCHEMY = ((2, 0), (2, 2))   # [min, max)
# Distinct expression texts kept compiled per process. Generated workflows
# use a few texts per resource (``{{ _.node_<id> }}``), so this covers the
# stacks a Mistral runs at once; an evicted text is compiled again.
EXPRESSION_CACHE_SIZE = 4096


def _release_problem():
    """Why the installed Mistral is not a release read here, or None."""
    try:
        version = importlib.metadata.version('mistral')
    except importlib.metadata.PackageNotFoundError:
        return 'Mistral is not installed'
    return _version_problem('Mistral', version, SUPPORTED_MISTRAL)


def _version_problem(name, version, supported):
    """Why ``version`` of ``name`` is outside ``supported``, or None.

    ``supported`` is ``((min major, minor), (max major, minor))``, the
    maximum excluded.
    """
    parts = tuple(int(p) for p in version.split('.')[:2] if p.isdigit())
    low, high = supported
    if not (low <= parts < high):
        return '%s %s is not a release this patch was read for' % (
            name, version)
    return None


def incompatibility():
    """Why Mistral's start_task must not be patched, or None."""
    problem = _release_problem()
    if problem:
        return problem
    from mistral.engine import default_engine
    from mistral.rpc import clients
    problem = _signature_problem((
        (_original(clients.EngineClient.start_task), _START_TASK_PARAMS),))
    if problem:
        return problem
    engine_params = inspect.signature(
        default_engine.DefaultEngine.start_task).parameters.values()
    if not any(p.kind == p.VAR_KEYWORD for p in engine_params):
        return 'DefaultEngine.start_task no longer ignores extra parameters'
    return None


def local_task_start_incompatibility():
    """Why Mistral's engine must not start tasks in-process, or None."""
    problem = _release_problem()
    if problem:
        return problem
    from mistral.db import utils as db_utils
    from mistral.engine import default_engine
    from mistral.rpc import clients
    problem = _signature_problem((
        (_original(clients.EngineClient.start_task), _START_TASK_PARAMS),
        (default_engine.DefaultEngine.start_task, _START_TASK_PARAMS),
    ))
    if problem:
        return problem
    if not callable(getattr(db_utils, 'retry_on_db_error', None)):
        return 'mistral.db.utils.retry_on_db_error is gone'
    return _queue_local_problem()


def expression_cache_incompatibility():
    """Why Mistral's expression evaluation must not be patched, or None."""
    problem = _release_problem()
    if problem:
        return problem
    from mistral.expressions import base
    from mistral.expressions import jinja_expression
    env = getattr(jinja_expression.JinjaEvaluator, '_env', None)
    if env is None or not hasattr(env, 'compile_expression'):
        return 'JinjaEvaluator has no Jinja environment _env'
    params = tuple(inspect.signature(
        _original(type(env).compile_expression)).parameters)
    if params != _COMPILE_PARAMS:
        return ('Environment.compile_expression%s is not the expected %s'
                % (params, _COMPILE_PARAMS))
    if inspect.signature(_original(base.get_custom_functions)).parameters:
        return 'get_custom_functions now takes arguments'
    return None


def heartbeat_incompatibility():
    """Why Mistral's executor must not be patched, or None."""
    problem = _release_problem()
    if problem:
        return problem
    from mistral.executors import default_executor
    from mistral.services import action_heartbeat_sender
    executor = default_executor.DefaultExecutor
    params = tuple(inspect.signature(
        _original(executor.run_action)).parameters)
    if params != _RUN_ACTION_PARAMS:
        return ('DefaultExecutor.run_action%s is not the expected %s'
                % (params, _RUN_ACTION_PARAMS))
    inner = getattr(executor, '_do_run_action', None)
    if inner is None or tuple(inspect.signature(
            inner).parameters) != _DO_RUN_ACTION_PARAMS:
        return ('DefaultExecutor._do_run_action is not the expected %s'
                % (_DO_RUN_ACTION_PARAMS,))
    if not hasattr(action_heartbeat_sender, 'add_action'):
        return 'action_heartbeat_sender.add_action is gone'
    return None


def execution_data_group_incompatibility():
    """Why the execution columns must not be grouped, or None."""
    problem = _release_problem()
    if problem:
        return problem
    import sqlalchemy
    problem = _version_problem('SQLAlchemy', sqlalchemy.__version__,
                               SUPPORTED_SQLALCHEMY)
    if problem:
        return problem
    loader = _deferred_column_loader()
    if loader is None:
        return 'SQLAlchemy has no deferred column loader'
    if 'group' not in getattr(loader, '__slots__', ()):
        return 'SQLAlchemy\'s deferred column loader has no group'
    from mistral.db.v2.sqlalchemy import models
    mapper = sqlalchemy.inspect(models.WorkflowExecution)
    for key in EXECUTION_DATA_COLUMNS:
        prop = mapper.attrs.get(key)
        if prop is None or not getattr(prop, 'deferred', False):
            return 'WorkflowExecution.%s is not a deferred column' % key
        if prop.group not in (None, EXECUTION_DATA_GROUP):
            return 'WorkflowExecution.%s is already in group %s' % (
                key, prop.group)
        if (not isinstance(prop.strategy, loader) or
                not isinstance(getattr(prop, '_strategies', None), dict)):
            return 'WorkflowExecution.%s is not loaded on first read' % key
    return None


def redundant_query_incompatibility():
    """Why Mistral's engine must keep its redundant queries, or None."""
    problem = _release_problem()
    if problem:
        return problem
    from mistral.db.v2 import api as db_api  # noqa: F401 (loads db_impl)
    from mistral.db.sqlalchemy import base as db_base
    from mistral.db.v2.sqlalchemy import api as db_impl
    from mistral.expressions import std_functions
    from oslo_db.sqlalchemy import update_match
    problem = _signature_problem((
        (_original(std_functions.task_), _TASK_FUNCTION_PARAMS),
        (std_functions._convert_to_user_model, ('task_ex',)),
        (_original(db_impl.update_task_execution_state),
         _STATE_UPDATE_PARAMS),
        (_original(db_impl.update_workflow_execution_state),
         _STATE_UPDATE_PARAMS),
        (update_match.manufacture_entity_criteria,
         ('entity', 'include_only', 'exclude')),
        (update_match.manufacture_persistent_object,
         ('session', 'specimen', 'values', 'primary_key')),
    ))
    if problem:
        return problem
    if not callable(getattr(db_base, '_get_thread_local_session', None)):
        return ('mistral.db.sqlalchemy.base._get_thread_local_session is '
                'gone')
    return None


def direct_completion_incompatibility():
    """Why Mistral must not take completions from heat-engine, or None.

    Read by ``completion_server``, which calls the engine's
    ``on_action_complete`` as Mistral's own RPC server does, with the
    context Mistral's API gives a request when it checks no identity
    (``mistral_checks_identities`` is false).
    """
    problem = _release_problem()
    if problem:
        return problem
    from mistral.engine import default_engine
    return _signature_problem((
        (default_engine.DefaultEngine.on_action_complete,
         _ON_ACTION_COMPLETE_PARAMS),))


def mistral_checks_identities():
    """True if Mistral's API authenticates callers ([pecan] auth_enable)."""
    from mistral import config as mistral_config  # noqa: F401 ([pecan])
    return bool(cfg.CONF.pecan.auth_enable)


def in_engine_process():
    """True in a Mistral engine process (one whose engine server started).

    ``EngineServer.start`` creates the system scheduler and loads the RPC
    server driver before its RPC server takes any call; this package's
    actions are loaded while such a call is handled. Other processes have
    one at most: executors and the other servers the driver, mistral-api
    the scheduler once an operator changes the maintenance mode.
    """
    from mistral.rpc import base as rpc_base
    from mistral.scheduler import base as scheduler_base
    return (scheduler_base._SCHEDULER is not None and
            rpc_base._IMPL_SERVER is not None)


def in_mistral_process():
    """True in a Mistral process: Mistral's configuration module is loaded.

    Elsewhere (heat-side tools that import the actions) nothing of
    Mistral's engine may be imported: it would register Mistral's options
    into a foreign configuration.
    """
    return 'mistral.config' in sys.modules


def complete_action(action_ex_id, state, output):
    """Complete an action execution as Mistral's API does, in this engine.

    ``state`` SUCCESS (``output`` the result) or ERROR (``output`` the
    error), as the API turns ``PUT /v2/action_executions/<id>`` into a
    ``mistral_lib`` Result; the call runs under the context the API gives
    a request when Mistral checks no identity. Returns the engine's copy
    of the action execution.
    """
    from mistral import context as auth_ctx
    from mistral.engine import default_engine
    from mistral_lib import actions as ml_actions
    if state == 'SUCCESS':
        result = ml_actions.Result(data=output)
    else:
        result = ml_actions.Result(error=output or 'Unknown error')
    auth_ctx.set_ctx(auth_ctx.MistralContext())
    try:
        return default_engine.DefaultEngine().on_action_complete(
            action_ex_id, result)
    finally:
        auth_ctx.set_ctx(None)


def _deferred_column_loader():
    """SQLAlchemy's loader strategy of deferred columns (named by release)."""
    from sqlalchemy.orm import strategies
    return (getattr(strategies, '_DeferredColumnLoader', None) or
            getattr(strategies, 'DeferredColumnLoader', None))


def prompt_joins_incompatibility():
    """Why Mistral's join tasks must not be refreshed promptly, or None."""
    problem = _release_problem()
    if problem:
        return problem
    from mistral.engine import post_tx_queue
    from mistral.engine import task_handler
    from mistral.workflow import direct_workflow
    return _signature_problem((
        (task_handler._check_affected_tasks, ('task',)),
        (task_handler._refresh_task_state, ('task_ex_id',)),
        (post_tx_queue.register_operation, ('func', 'args', 'in_tx')),
        (_original(direct_workflow.DirectWorkflowController.
                   find_indirectly_affected_task_executions),
         ('self', 't_name')),
    )) or _queue_local_problem()


def _signature_problem(expected):
    """Which of (function, parameter names) ``expected`` differs, or None."""
    for function, params in expected:
        found = tuple(inspect.signature(function).parameters)
        if found != params:
            return '%s%s is not the expected %s' % (
                function.__qualname__, found, params)
    return None


def _queue_local_problem():
    """Why ``_runner_queue_kept`` would not keep the queue, or None."""
    from mistral.engine import post_tx_queue
    if getattr(post_tx_queue, '_THREAD_LOCAL_NAME', None) != _QUEUE_LOCAL:
        return 'post_tx_queue no longer keeps its queue in %s' % _QUEUE_LOCAL
    return None


@contextlib.contextmanager
def _runner_queue_kept():
    """Keep the post-commit queue runner's queue across a nested runner.

    Each of Mistral's queue runners (``post_tx_queue.run``: engine methods,
    ``_refresh_task_state``) replaces the thread-local queue and clears it
    when it returns. Called from inside a runner, one would leave that
    runner's operations after the call with no queue to register in.
    """
    from mistral_lib import utils as mistral_lib_utils
    outer = mistral_lib_utils.get_thread_local(_QUEUE_LOCAL)
    try:
        yield
    finally:
        mistral_lib_utils.set_thread_local(_QUEUE_LOCAL, outer)


def _original(method):
    return getattr(method, '_hme_original', method)


def _in_mistral(conf, option):
    """True if this is a Mistral process and ``option`` is on.

    Outside a Mistral process (Mistral's configuration module not loaded,
    e.g. heat-side tools that import the actions), False: importing
    Mistral's engine there would register Mistral's options into a foreign
    configuration.
    """
    if not in_mistral_process():
        return False
    options.register_opts(conf)
    return bool(conf[options.GROUP][option])


def install_all(conf=cfg.CONF):
    """Apply every patch its option turns on (see the module)."""
    install(conf)
    install_local_task_start(conf)
    # Before the expression cache, which keeps the functions it finds.
    install_redundant_query_skip(conf)
    install_expression_cache(conf)
    install_async_heartbeat_skip(conf)
    install_execution_data_group(conf)
    install_prompt_joins(conf)


def install(conf=cfg.CONF):
    """Make ``EngineClient.start_task`` drop ``wf_spec``; idempotent.

    Returns True when the patch is in place; does nothing outside a
    Mistral process (see ``_in_mistral``).
    """
    if not _in_mistral(conf, 'lean_start_task'):
        return False
    from mistral.rpc import clients
    if getattr(clients.EngineClient.start_task, '_hme_lean', False):
        return True
    problem = incompatibility()
    if problem:
        LOG.warning('heat-mistral-engine leaves Mistral\'s start_task as '
                    'it is (%s): big generated workflows will be slow.',
                    problem)
        return False
    original = clients.EngineClient.start_task

    @functools.wraps(original)
    def start_task(self, task_ex_id, first_run, waiting, triggered_by,
                   rerun, reset, **params):
        params.pop('wf_spec', None)
        return original(self, task_ex_id, first_run, waiting, triggered_by,
                        rerun, reset, **params)

    start_task._hme_original = _original(original)
    start_task._hme_lean = True
    clients.EngineClient.start_task = start_task
    LOG.info('heat-mistral-engine: Mistral\'s start_task no longer sends '
             'the unused workflow spec ([%s] lean_start_task).',
             options.GROUP)
    return True


def install_local_task_start(conf=cfg.CONF):
    """Start the first task of each post-commit queue in-process.

    Idempotent. Returns True when the patch is in place; does nothing
    outside a Mistral process (see ``_in_mistral``).
    """
    if not _in_mistral(conf, 'local_task_start'):
        return False
    from mistral.rpc import clients
    if getattr(clients.EngineClient.start_task, '_hme_local', False):
        return True
    problem = local_task_start_incompatibility()
    if problem:
        LOG.warning('heat-mistral-engine leaves Mistral\'s engine to start '
                    'every task over RPC (%s): each resource waits for a '
                    'broker round trip after the one it needs.', problem)
        return False
    clients.EngineClient.start_task = starting_first_task_here(
        clients.EngineClient.start_task, task_starter())
    LOG.info('heat-mistral-engine: Mistral\'s engine starts the first task '
             'of each commit in-process, the others over RPC ([%s] '
             'local_task_start).', options.GROUP)
    return True


def task_starter():
    """``start_here(...)``: Mistral's ``DefaultEngine.start_task``, here.

    Takes ``EngineClient.start_task``'s arguments. Meant for Mistral's
    post-commit queue runner; never raises: a task that could not be
    started is logged with its id and stays IDLE, as it does when the
    engine that receives Mistral's RPC cast fails to start it.
    """
    from mistral.db import utils as db_utils
    from mistral.engine import default_engine

    def start(*args):
        # Looked up at each call, as the RPC server's engine method is.
        return default_engine.DefaultEngine().start_task(*args)

    start_with_retries = db_utils.retry_on_db_error(start)

    def start_here(task_ex_id, first_run, waiting, triggered_by, rerun,
                   reset):
        # DefaultEngine.start_task is a queue runner itself.
        with _runner_queue_kept():
            try:
                start_with_retries(task_ex_id, first_run, waiting,
                                   triggered_by, rerun, reset)
            except Exception:
                LOG.exception('Could not start task execution %s',
                              task_ex_id)

    return start_here


def starting_first_task_here(send, start_here):
    """Wrap ``EngineClient.start_task`` (``send``) to start one task here.

    Mistral's dispatcher calls ``start_task`` from the post-commit queue
    runner of the transaction that created the tasks, once per task. The
    first call of a runner goes to ``start_here``; later calls of the same
    runner, and calls from anywhere else, are sent over RPC as before.
    """
    from mistral_lib import utils as mistral_lib_utils

    seen = threading.local()

    @functools.wraps(send)
    def start_task(self, task_ex_id, first_run, waiting, triggered_by,
                   rerun, reset, **params):
        runner = mistral_lib_utils.get_thread_local(_QUEUE_LOCAL)
        if runner is not None and getattr(seen, 'runner', None) is not runner:
            seen.runner = runner
            start_here(task_ex_id, first_run, waiting, triggered_by, rerun,
                       reset)
            return None
        return send(self, task_ex_id, first_run, waiting, triggered_by,
                    rerun, reset, **params)

    start_task._hme_original = _original(send)
    start_task._hme_local = True
    return start_task


def install_redundant_query_skip(conf=cfg.CONF):
    """Spare Mistral's engine three queries per task; idempotent.

    Returns True when the patch is in place; does nothing outside a
    Mistral process (see ``_in_mistral``). Must run before
    ``install_expression_cache``, which keeps the expression functions it
    loads (``task`` among them).
    """
    if not _in_mistral(conf, 'skip_redundant_queries'):
        return False
    from mistral.db.v2 import api as db_api  # noqa: F401 (loads db_impl)
    from mistral.db.v2.sqlalchemy import api as db_impl
    from mistral.db.v2.sqlalchemy import models
    from mistral.expressions import std_functions
    if getattr(std_functions.task_, '_hme_original', None):
        return True
    problem = redundant_query_incompatibility()
    if problem:
        LOG.warning('heat-mistral-engine leaves Mistral\'s queries as they '
                    'are (%s): each task selects rows its transaction '
                    'already holds.', problem)
        return False
    std_functions.task_ = task_from_session(std_functions.task_)
    for name, model in (
            ('update_task_execution_state', models.TaskExecution),
            ('update_workflow_execution_state', models.WorkflowExecution)):
        setattr(db_impl, name, state_swapper(getattr(db_impl, name), model))
    LOG.info('heat-mistral-engine: Mistral\'s engine reads the task being '
             'completed from its transaction and changes states without '
             'selecting the row back ([%s] skip_redundant_queries).',
             options.GROUP)
    return True


def task_from_session(task_):
    """Wrap Mistral's ``task()`` expression function (``task_``).

    ``task()`` for the task in whose scope an expression is evaluated (no
    name, or that task's own) returns the user view of the task execution
    object that the current transaction's session holds, when it holds
    it: the object Mistral's query by id would return. Otherwise, and for
    other tasks, ``task_`` runs as before.
    """
    from mistral.db.sqlalchemy import base as db_base
    from mistral.db.v2.sqlalchemy import models
    from mistral.expressions import std_functions
    from sqlalchemy.orm import util as orm_util

    @functools.wraps(task_)
    def task_in_session(context, task_name=None):
        current = context.get('__task_execution')
        session = db_base._get_thread_local_session()
        if (current and session is not None and
                (not task_name or current['name'] == task_name)):
            task_ex = session.identity_map.get(orm_util.identity_key(
                models.TaskExecution, current['id']))
            if task_ex is not None and task_ex not in session.deleted:
                return std_functions._convert_to_user_model(task_ex)
        return task_(context, task_name)

    task_in_session._hme_original = _original(task_)
    return task_in_session


def state_swapper(original, model):
    """``update_<model>_state(id, cur_state, state)`` without the re-select.

    What Mistral's ``update_on_match`` does for a state change with
    oslo.db's ``update_on_match``, less the SELECT that oslo.db sends on
    databases without RETURNING to learn the primary key of the row it
    updated: here the key is the ``id`` the UPDATE matched on. Returns the
    persistent object with its new state, or None (logged at INFO, as
    Mistral does) when the row is no longer in ``cur_state``.
    """
    from mistral.db.sqlalchemy import base as db_base
    from oslo_db.sqlalchemy import update_match

    @db_base.session_aware()
    def swap(id, cur_state, state, session=None):
        # Mistral flushes first: the UPDATE bypasses the session's
        # pending changes (Mistral bug 1736821).
        session.flush()
        specimen = model(id=id, state=cur_state)
        criteria = update_match.manufacture_entity_criteria(
            specimen, exclude=['id'])
        values = {'state': state}
        matched = db_base.model_query(model, session=session).filter(
            model.id == id).filter(criteria).update(
                values, synchronize_session=False)
        if matched != 1:
            LOG.info("Can't change state of persistent object because it "
                     "has already been changed. [model_class=%s, id=%s, "
                     "specimen=%s, values=%s]", model, id, specimen, values)
            return None
        return update_match.manufacture_persistent_object(
            session, model(), dict(values, id=id), (id,))

    @functools.wraps(original)
    def update_state(id, cur_state, state):
        return swap(id, cur_state, state)

    update_state._hme_original = _original(original)
    return update_state


def install_expression_cache(conf=cfg.CONF):
    """Cache compiled Jinja expressions and custom functions; idempotent.

    Returns True when the patch is in place; does nothing outside a
    Mistral process (see ``_in_mistral``).
    """
    if not _in_mistral(conf, 'cache_expressions'):
        return False
    from mistral.expressions import base
    from mistral.expressions import jinja_expression
    env = jinja_expression.JinjaEvaluator._env
    if getattr(env.compile_expression, '_hme_original', None):
        return True
    problem = expression_cache_incompatibility()
    if problem:
        LOG.warning('heat-mistral-engine leaves Mistral\'s expression '
                    'evaluation as it is (%s): every task compiles its '
                    'expressions again.', problem)
        return False
    # The evaluator's own environment only (an overlay of Mistral's
    # sandboxed one): Jinja's environment class and every other
    # environment stay as they are. lru_cache is thread-safe; two threads
    # may compile the same text once each, with the same result.
    compiled = functools.lru_cache(maxsize=EXPRESSION_CACHE_SIZE)(
        env.compile_expression)
    compiled._hme_original = env.compile_expression
    env.compile_expression = compiled

    original_functions = base.get_custom_functions
    functions = original_functions()

    @functools.wraps(original_functions)
    def get_custom_functions():
        # A copy: callers own the dict they get, as before.
        return dict(functions)

    get_custom_functions._hme_original = original_functions
    base.get_custom_functions = get_custom_functions
    LOG.info('heat-mistral-engine: Mistral keeps Jinja expressions '
             'compiled and its expression functions loaded '
             '([%s] cache_expressions).', options.GROUP)
    return True


def install_async_heartbeat_skip(conf=cfg.CONF):
    """Run asynchronous actions without heartbeats; idempotent.

    Returns True when the patch is in place; does nothing outside a
    Mistral process (see ``_in_mistral``).
    """
    if not _in_mistral(conf, 'async_heartbeats_off'):
        return False
    from mistral.executors import default_executor
    executor = default_executor.DefaultExecutor
    if getattr(executor.run_action, '_hme_original', None):
        return True
    problem = heartbeat_incompatibility()
    if problem:
        LOG.warning('heat-mistral-engine leaves Mistral\'s executor as it '
                    'is (%s): each task still sends an unused heartbeat.',
                    problem)
        return False
    original = executor.run_action

    @functools.wraps(original)
    def run_action(self, action, action_ex_id, safe_rerun, exec_ctx,
                   redelivered=False, target=None, async_=True,
                   timeout=None):
        # What Mistral's run_action does, less add_action/remove_action
        # around it. An action that cannot say is treated as synchronous.
        is_sync = getattr(action, 'is_sync', None)
        if callable(is_sync) and is_sync() is False:
            return self._do_run_action(action, action_ex_id, exec_ctx,
                                       redelivered, safe_rerun, timeout)
        return original(self, action, action_ex_id, safe_rerun, exec_ctx,
                        redelivered=redelivered, target=target,
                        async_=async_, timeout=timeout)

    run_action._hme_original = original
    executor.run_action = run_action
    LOG.info('heat-mistral-engine: Mistral\'s executor runs asynchronous '
             'actions without heartbeats nobody reads ([%s] '
             'async_heartbeats_off).', options.GROUP)
    return True


def install_execution_data_group(conf=cfg.CONF):
    """Load a workflow execution's input, params and context together.

    Idempotent. Returns True when the patch is in place; does nothing
    outside a Mistral process (see ``_in_mistral``).
    """
    if not _in_mistral(conf, 'load_execution_data_together'):
        return False
    problem = execution_data_group_incompatibility()
    if problem:
        LOG.warning('heat-mistral-engine leaves Mistral\'s workflow '
                    'execution columns as they are (%s): each task loads '
                    'each of them with a query of its own.', problem)
        return False
    import sqlalchemy
    from mistral.db.v2.sqlalchemy import models
    mapper = sqlalchemy.inspect(models.WorkflowExecution)
    props = [mapper.attrs[key] for key in EXECUTION_DATA_COLUMNS]
    if all(p.group == EXECUTION_DATA_GROUP for p in props):
        return True
    loader = _deferred_column_loader()
    # The properties first: a loader that already sees the group loads the
    # properties that are in it, its own always among them.
    for prop in props:
        prop.group = EXECUTION_DATA_GROUP
    for prop in props:
        for strategy in list(prop._strategies.values()):
            if isinstance(strategy, loader):
                strategy.group = EXECUTION_DATA_GROUP
    LOG.info('heat-mistral-engine: Mistral loads a workflow execution\'s '
             '%s in one query ([%s] load_execution_data_together).',
             ', '.join(EXECUTION_DATA_COLUMNS), options.GROUP)
    return True


def install_prompt_joins(conf=cfg.CONF):
    """Refresh join tasks right after the commit that may start them.

    Idempotent. Returns True when the patch is in place; does nothing
    outside a Mistral process (see ``_in_mistral``).
    """
    if not _in_mistral(conf, 'prompt_joins'):
        return False
    from mistral.workflow import direct_workflow
    controller = direct_workflow.DirectWorkflowController
    if getattr(controller.find_indirectly_affected_task_executions,
               '_hme_original', None):
        return True
    problem = prompt_joins_incompatibility()
    if problem:
        LOG.warning('heat-mistral-engine leaves Mistral\'s join tasks to '
                    'its scheduler (%s): each resource that needs two or '
                    'more others waits for the scheduler\'s next poll.',
                    problem)
        return False

    controller.find_indirectly_affected_task_executions = refreshing_joins(
        controller.find_indirectly_affected_task_executions,
        join_refresher())
    LOG.info('heat-mistral-engine: Mistral checks join tasks right after '
             'the commit that may start them, besides its scheduler '
             '([%s] prompt_joins).', options.GROUP)
    return True


def join_refresher():
    """``refresh_now(task_ex_id)``: Mistral's join check, run now.

    Meant for Mistral's post-commit queue; checks of one join requested
    while one runs are merged (``coalesced_calls``). Never raises: a
    failed check is logged, and Mistral's scheduled check remains.
    """
    from mistral.engine import task_handler

    refreshes = coalesced_calls.CoalescedCalls(
        lambda task_ex_id: task_handler._refresh_task_state(task_ex_id))

    def refresh_now(task_ex_id):
        # Runs inside Mistral's post-commit queue runner;
        # _refresh_task_state is a queue runner itself.
        with _runner_queue_kept():
            try:
                refreshes.request(task_ex_id)
            except Exception:
                LOG.warning('Prompt check of join task execution %s '
                            'failed; Mistral\'s scheduled check will start '
                            'it.', task_ex_id, exc_info=True)

    return refresh_now


def refreshing_joins(find, refresh_now):
    """Wrap ``find_indirectly_affected_task_executions`` to queue checks.

    Only ``_check_affected_tasks`` calls it, in the transaction that
    completed ``t_name``; it then queues Mistral's own scheduling of a
    check of each join returned. The wrapper queues ``refresh_now`` for
    each, to run once that transaction has committed and the operations
    queued with it (Mistral's scheduled checks among them) have run: a
    process that dies during the prompt check leaves the scheduled ones
    behind, as it would without the patch.
    """
    from mistral.engine import post_tx_queue

    def after_queued_operations(task_ex_id):
        # Runs in Mistral's post-commit queue runner: what it queues runs
        # after every operation of the current queue.
        post_tx_queue.register_operation(refresh_now, args=[task_ex_id])

    @functools.wraps(find)
    def find_indirectly_affected_task_executions(self, t_name):
        affected = find(self, t_name)
        for task_ex in affected:
            post_tx_queue.register_operation(after_queued_operations,
                                             args=[task_ex.id])
        return affected

    find_indirectly_affected_task_executions._hme_original = find
    return find_indirectly_affected_task_executions
