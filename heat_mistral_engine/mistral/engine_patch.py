"""The one place that touches Mistral's internals (in Mistral's processes).

Mistral 23's engine starts each task with an RPC cast,
``EngineClient.start_task``, that carries the whole workflow spec as an
extra parameter (``wf_spec``). The engine that receives it never reads it
(``DefaultEngine.start_task`` swallows ``**params``), but serialising it
costs CPU in proportion to the spec for every task. The cost grows
quadratically with fan-out: for a generated workflow of 500 tasks fed by
one root, each cast took 2.6 s of CPU and carried 24 MiB. ``install``
makes ``start_task`` drop that one parameter and changes nothing else.

The patch is applied only to a Mistral whose version and signatures are
the ones read here; otherwise Mistral is left alone and a warning says why.
It takes effect in each Mistral process when that process first loads this
package's actions (Mistral loads action plugins on first use), so only the
very first task a process starts still carries the spec.
"""

import functools
import importlib.metadata
import inspect
import sys

from oslo_config import cfg
from oslo_log import log as logging

from heat_mistral_engine.mistral import config

LOG = logging.getLogger(__name__)

SUPPORTED_MISTRAL = ((23, 0), (24, 0))   # [min, max)
_CLIENT_PARAMS = ('self', 'task_ex_id', 'first_run', 'waiting',
                  'triggered_by', 'rerun', 'reset', 'params')


def incompatibility():
    """Why the installed Mistral must not be patched, or None."""
    try:
        version = importlib.metadata.version('mistral')
    except importlib.metadata.PackageNotFoundError:
        return 'Mistral is not installed'
    parts = tuple(int(p) for p in version.split('.')[:2] if p.isdigit())
    low, high = SUPPORTED_MISTRAL
    if not (low <= parts < high):
        return 'Mistral %s is not a release this patch was read for' % version
    from mistral.engine import default_engine
    from mistral.rpc import clients
    client_params = tuple(inspect.signature(
        _original(clients.EngineClient.start_task)).parameters)
    if client_params != _CLIENT_PARAMS:
        return ('EngineClient.start_task%s is not the expected %s'
                % (client_params, _CLIENT_PARAMS))
    engine_params = inspect.signature(
        default_engine.DefaultEngine.start_task).parameters.values()
    if not any(p.kind == p.VAR_KEYWORD for p in engine_params):
        return 'DefaultEngine.start_task no longer ignores extra parameters'
    return None


def _original(method):
    return getattr(method, '_hme_original', method)


def install(conf=cfg.CONF):
    """Make ``EngineClient.start_task`` drop ``wf_spec``; idempotent.

    Returns True when the patch is in place. Outside a Mistral process
    (Mistral's configuration module not loaded, e.g. heat-side tools that
    import the actions), does nothing: importing Mistral's engine there
    would register Mistral's options into a foreign configuration.
    """
    if 'mistral.config' not in sys.modules:
        return False
    config.register_opts(conf)
    if not conf[config.GROUP].lean_start_task:
        return False
    from mistral.rpc import clients
    if getattr(clients.EngineClient.start_task, '_hme_original', None):
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

    start_task._hme_original = original
    clients.EngineClient.start_task = start_task
    LOG.info('heat-mistral-engine: Mistral\'s start_task no longer sends '
             'the unused workflow spec ([%s] lean_start_task).',
             config.GROUP)
    return True
