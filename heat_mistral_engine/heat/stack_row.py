"""The one place that reads Heat's stack table directly (inside heat-engine).

Every node asks whether its traversal is still the stack's current one
(``node_guard.admit``). Heat's ``Stack.get_by_id`` answers with the whole
row, and the row holds the traversal's graph (``current_deps``, JSON): for a
stack of 1000 resources about 50 KB decoded per node, while the graph itself
is built once per traversal and engine worker (``TraversalGraphs``).
``traversal_state`` reads only the columns the check needs, with Heat's own
database session and model, and the visibility of Heat's ``stack_get``.

Heat's model is private: the columns read here are checked when this module
is imported (``columns_problem``); if one is missing, Heat's
``Stack.get_by_id`` is used instead, with a warning.
"""

import dataclasses

from heat.db import api as db_api
from heat.db import models
from heat.objects import stack as stack_object
from oslo_log import log as logging
from sqlalchemy import orm

LOG = logging.getLogger(__name__)

COLUMNS = ('id', 'current_traversal', 'status', 'tenant',
           'stack_user_project_id', 'deleted_at')


@dataclasses.dataclass(frozen=True)
class StackState:
    """What a node's admission reads of its stack."""

    id: str
    current_traversal: str
    status: str


def columns_problem():
    """Why Heat's stack model cannot be read here, or None."""
    missing = [name for name in COLUMNS
               if not hasattr(models.Stack, name)]
    if missing:
        return 'heat.db.models.Stack has no %s' % ', '.join(missing)
    return None


_PROBLEM = columns_problem()
if _PROBLEM:
    LOG.warning('heat-mistral-engine reads whole stack rows in node '
                'admission (%s)', _PROBLEM)


def traversal_state(cnxt, stack_id):
    """The stack's ``StackState``, or None where ``stack_get`` finds none.

    None for a stack that does not exist, is deleted (unless ``cnxt``
    shows deleted ones), or is not visible to ``cnxt``: as Heat's
    ``stack_get``, a context that is not admin sees the stacks of its
    project and of the stack user project.
    """
    if _PROBLEM:
        row = stack_object.Stack.get_by_id(cnxt, stack_id,
                                           eager_load=False)
        return row and StackState(row.id, row.current_traversal, row.status)
    return _read(cnxt, stack_id)


@db_api.context_manager.reader
def _read(cnxt, stack_id):
    row = cnxt.session.get(models.Stack, stack_id, options=[orm.load_only(
        *(getattr(models.Stack, name) for name in COLUMNS))])
    if row is None or row.deleted_at is not None and not cnxt.show_deleted:
        return None
    if (not cnxt.is_admin and cnxt.project_id not in (
            row.tenant, row.stack_user_project_id)):
        return None
    return StackState(row.id, row.current_traversal, row.status)
