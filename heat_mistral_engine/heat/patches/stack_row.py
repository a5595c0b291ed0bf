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

"""The one place that reads Heat's stack table directly (inside heat-engine).

Every node asks whether its traversal is still the stack's current one
(``node.guard.admit``). Heat's ``Stack.get_by_id`` answers with the whole
row, and the row holds the traversal's graph (``current_deps``, JSON),
decoded again for each node, while the graph itself is built once per
traversal and engine worker (``TraversalGraphs``).
``traversal_state`` reads only the columns the check needs, with Heat's own
database session and model, and the visibility of Heat's ``stack_get``.

``shared_row`` reads the whole row as Heat's ``stack_get`` does (with its
template), but takes the two large JSON texts (the graph and the template)
undecoded and lets the caller decode them (``shared_stack_json`` shares
decoded values among the nodes of an engine worker).

Heat's model is private: the columns read here are checked when this module
is imported (``columns_problem``); if one is missing, Heat's
``Stack.get_by_id`` is used instead, with a warning.
"""

import dataclasses

from heat.db import api as db_api
from heat.db import models
from heat.objects import stack as stack_object
from oslo_log import log as logging
import sqlalchemy
from sqlalchemy import orm

from heat_mistral_engine.heat.patches import db_outage

LOG = logging.getLogger(__name__)

COLUMNS = ('id', 'current_traversal', 'status', 'tenant',
           'stack_user_project_id', 'deleted_at')


@dataclasses.dataclass(frozen=True)
class StackState:
    """What this package reads of a stack row to judge a traversal.

    Node admission (``traversal_state``) reads the first three; the orphan
    check (``orphans.HeatView``) also ``action``, ``updated_at`` (a naive
    UTC datetime) and ``mistral_driven`` (False: Heat runs this traversal
    itself, e.g. a delete of a stack with snapshots).
    """

    id: str
    current_traversal: str
    status: str
    action: str = None
    updated_at: object = None
    mistral_driven: bool = True


# Read as text by shared_row: (model, JSON column).
JSON_TEXTS = ((models.Stack, 'current_deps'), (models.Stack, 'raw_template'),
              (models.RawTemplate, 'template'))


def columns_problem():
    """Why Heat's stack model cannot be read here, or None."""
    missing = ['%s.%s' % (model.__name__, name)
               for model, name in [(models.Stack, c) for c in COLUMNS]
               + list(JSON_TEXTS)
               if not hasattr(model, name)]
    if missing:
        return 'heat.db.models has no %s' % ', '.join(missing)
    return None


_PROBLEM = columns_problem()
if _PROBLEM:
    LOG.warning('heat-mistral-engine reads stack rows with Heat\'s '
                'stack_get in node admission and loads (%s)', _PROBLEM)


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


def shared_row(cnxt, stack_id, decode_graph, decode_template,
               show_deleted=False):
    """The stack's row and template as Heat's ``stack_get`` gives them.

    Same visibility and deleted-row rule as ``stack_get``; None where it
    finds none. The row's ``current_deps`` is ``decode_graph(text)`` and
    its template's ``template`` is ``decode_template(text)`` of the stored
    JSON texts, instead of Heat's own decoding; every other column is
    Heat's. Without the expected columns (``columns_problem``), Heat's
    ``stack_get`` itself.
    """
    if _PROBLEM:
        return db_api.stack_get(cnxt, stack_id, show_deleted=show_deleted)
    return _read_shared(cnxt, stack_id, decode_graph, decode_template,
                        show_deleted)


def _visible(cnxt, row, show_deleted=False):
    """Heat's ``stack_get`` rule: may ``cnxt`` read ``row``?"""
    if row is None:
        return False
    if row.deleted_at is not None and not (show_deleted or
                                           cnxt.show_deleted):
        return False
    return cnxt.is_admin or cnxt.project_id in (row.tenant,
                                                row.stack_user_project_id)


@db_outage.outlast
@db_api.context_manager.reader
def _read(cnxt, stack_id):
    row = cnxt.session.get(models.Stack, stack_id, options=[orm.load_only(
        *(getattr(models.Stack, name) for name in COLUMNS))])
    if not _visible(cnxt, row):
        return None
    return StackState(row.id, row.current_traversal, row.status)


@db_outage.outlast
@db_api.context_manager.reader
def _read_shared(cnxt, stack_id, decode_graph, decode_template,
                 show_deleted):
    deps_text = sqlalchemy.type_coerce(models.Stack.current_deps,
                                       sqlalchemy.Text)
    template_text = sqlalchemy.type_coerce(models.RawTemplate.template,
                                           sqlalchemy.Text)
    found = cnxt.session.query(
        models.Stack, deps_text, template_text,
    ).outerjoin(models.Stack.raw_template).options(
        orm.defer(models.Stack.current_deps),
        orm.contains_eager(models.Stack.raw_template).defer(
            models.RawTemplate.template),
    ).filter(models.Stack.id == stack_id).first()
    if found is None:
        return None
    row, deps, template = found
    if not _visible(cnxt, row, show_deleted):
        return None
    # Set as loaded, not as changed: Heat reads them from the instance's
    # __dict__ (Stack._from_db_object) and nothing is written back.
    orm.attributes.set_committed_value(row, 'current_deps',
                                       decode_graph(deps))
    if row.raw_template is not None:
        orm.attributes.set_committed_value(row.raw_template, 'template',
                                           decode_template(template))
    return row
