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

"""Heat's database calls wait out a database restart (inside heat-engine).

Heat 27 retries a lost database connection in 8 of the 97 transaction
functions of ``heat.db.api`` (its ``retry_on_db_error`` and a
``wrap_db_retry``: ``resource_update``, ``event_create``, ...). Any other
call made while the database restarts (a resource's ``data_set``, a stack
or resource load) raises oslo.db's ``DBConnectionError`` at once; inside a
resource action Heat's ``Resource._action_recorder`` turns it into a FAILED
resource, and the stack fails, with the driver's message, which names the
database's host, as the tenant-visible reason (seen with ``tox
-e chaos``, row ``mariadb``).

oslo.db's own options do not help there: enginefacade ignores
``[database] use_db_reconnect`` (it is for ``oslo_db.api.DBAPI``, which
Heat does not use), ``max_retries`` and ``retry_interval`` apply only to the
first connection at start, and ``db_max_retries``, ``db_retry_interval``,
``db_inc_retry_interval`` and ``db_max_retry_interval`` are read only by
Heat's ``retry_on_db_error``, i.e. for 7 of those 8 functions.

``install`` therefore wraps every public function of ``heat.db.api`` whose
first parameter is ``context`` (each is one transaction: Heat opens none
outside that module, and neither does this package, whose own reads in
``stack_row`` use ``outlast``) with Heat's own ``retry_on_db_error``, so
that those four ``[database]`` options bound the wait. Only the outermost
call retries: a function of ``heat.db.api`` that calls another one runs
the inner one inside its own transaction, which a lost connection ends, so
the whole outer call is run again, never the inner one alone. Retrying is
safe because a transaction that lost its connection was rolled back by
the server; the one exception is a connection lost *during* the commit,
after the server committed, which Heat's ``retry_on_db_error`` accepts
already for the functions it wraps (a retried insert may then fail as a
duplicate, a compare-and-swap update as a lost race).

When the retries run out, the ``DBConnectionError`` raised carries a
message of its own that names heat-engine's log and a request id, under
which the driver's message is logged: the database's address never
reaches a resource's or a stack's reason.

Bound: a call resumes at most ``db_max_retry_interval`` seconds (10 by
default) after the database answers again, as long as it answers within
the sum of the intervals (about 175 s with the defaults). ``[mistral_scheduler]
survive_db_restarts = false`` leaves Heat alone.
"""

import functools
import inspect
import threading

from heat.db import api as db_api
from oslo_context import context as oslo_context
from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exception
from oslo_log import log as logging

from heat_mistral_engine.heat.patches import heat_release

LOG = logging.getLogger(__name__)

# Heat's functions replaced by ``install``: {name: Heat's function}.
_ORIGINALS = {}
_DEPTH = threading.local()


def lost_reason(request_id):
    """The message of a lost database connection that Heat may show users.

    One sentence with the request id under which the driver's message was
    logged: that message names the database's host.
    """
    return ('Heat\'s database could not be reached (details in Heat\'s '
            'log, request %s)' % request_id)


def _probe(context):
    return context


def _retry_codes():
    """The code objects of the retrying wrappers Heat puts on 8 functions."""
    codes = {oslo_db_api.wrap_db_retry()(_probe).__code__}
    heat_retry = getattr(db_api, 'retry_on_db_error', None)
    if callable(heat_retry):
        codes.add(heat_retry(_probe).__code__)
    return codes


def retries_already(func):
    """Whether ``func`` is one of the functions Heat itself retries.

    Those are wrapped by Heat's ``retry_on_db_error`` or oslo.db's
    ``wrap_db_retry``, whose inner function is the same code for every
    function wrapped. Retrying them again would multiply the two bounds.
    """
    return getattr(func, '__code__', None) in _retry_codes()


def outlast(func):
    """``func`` (one transaction, context first) that outlasts a restart.

    Once ``install`` ran, the outermost such call of a thread retries on a
    lost connection with Heat's ``retry_on_db_error`` (``[database]
    db_max_retries`` and the intervals), unless ``func`` retries already
    (``retries_already``); nested ones pass their error up to it. When the
    retries run out, raises ``DBConnectionError(lost_reason(...))``.
    Before ``install`` (or when heat.conf turns it off), ``func`` as it is.
    """
    heat_retry = getattr(db_api, 'retry_on_db_error', None)
    retrying = func
    if callable(heat_retry) and not retries_already(func):
        retrying = heat_retry(func)

    @functools.wraps(func)
    def call(*args, **kwargs):
        if getattr(_DEPTH, 'value', 0) or not _ORIGINALS:
            return func(*args, **kwargs)
        _DEPTH.value = 1
        try:
            return retrying(*args, **kwargs)
        except db_exception.DBConnectionError as exc:
            request_id = oslo_context.generate_request_id()
            LOG.error('[%s] Heat\'s database did not answer %s: %s',
                      request_id, func.__name__, exc)
            raise db_exception.DBConnectionError(
                lost_reason(request_id)) from None
        finally:
            _DEPTH.value = 0

    call.outlasts = func
    return call


def transactions():
    """{name: function} of ``heat.db.api``'s transactions (context first)."""
    found = {}
    for name, func in vars(db_api).items():
        if (name.startswith('_') or not inspect.isfunction(func) or
                func.__module__ != db_api.__name__):
            continue
        params = tuple(inspect.signature(func).parameters)
        if params[:1] == ('context',):
            found[name] = func
    return found


def install(conf):
    """Wrap Heat's database functions with ``outlast``. Idempotent.

    Returns True when installed. With ``[mistral_scheduler]
    survive_db_restarts = false``, or on a Heat this was not written for
    (logged as a warning), Heat is left alone and False is returned.
    """
    if not conf.mistral_scheduler.survive_db_restarts:
        LOG.info('[mistral_scheduler] survive_db_restarts is false: a '
                 'resource action fails when Heat\'s database restarts, '
                 'as in Heat.')
        return False
    if _ORIGINALS:
        return True
    problem = heat_release.release_problem('survive_db_restarts supports')
    if problem is None and not callable(
            getattr(db_api, 'retry_on_db_error', None)):
        problem = 'heat.db.api has no retry_on_db_error'
    if problem:
        LOG.warning('A resource action fails when Heat\'s database '
                    'restarts, as in Heat: %s', problem)
        return False
    for name, func in transactions().items():
        _ORIGINALS[name] = func
        setattr(db_api, name, outlast(func))
    return True


def installed():
    """Whether ``install`` wrapped Heat's database functions."""
    return bool(_ORIGINALS)


def uninstall():
    """Put Heat's functions back (for tests)."""
    while _ORIGINALS:
        name, func = _ORIGINALS.popitem()
        setattr(db_api, name, func)
