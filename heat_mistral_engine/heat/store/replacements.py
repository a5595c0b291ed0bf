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

"""A resource's replacement row, made once, whatever commit was lost.

Heat's ``Resource.make_replacement`` inserts the new row and points the old
one at it (``replaced_by``, a compare-and-swap on the old row's atomic key)
in one transaction. Two things leave rows behind that nothing will ever
create (issue 26, a database restart mid-update):

* a commit lost with its connection: Heat's ``retry_on_db_error`` runs the
  transaction again, and that run inserts a second row whose
  compare-and-swap fails (the first commit moved the atomic key);
* Heat commits the insert even when the compare-and-swap fails (it raises
  ``UpdateInProgress`` after the transaction), and ``make_replacement``
  then tries again.

Such rows stay INIT COMPLETE: Heat's purge at a traversal's end removes
only DELETE COMPLETE rows, and the next update may take one of them as the
resource's row (``Stack._get_best_existing_rsrc_db`` breaks ties of equal
``created_at``, whole seconds on MariaDB, by the rows' order) and create
the resource anew. And when Heat's last attempt is refused while the
first, lost commit did land, Heat reports the replacement as refused
although the old row already names the new one.

``make_replacement`` here runs Heat's and then looks at the rows that
appeared meanwhile replacing the same row with the same template (two
traversals never share a template, and the node's claim keeps a second
run of this node away): the one the old row names is the replacement,
even when Heat was refused, and every other one is marked DELETE COMPLETE,
as a deleted resource that was never created is, so that Heat skips it and
purges it at the traversal's end.
"""

from heat.common import exception
from heat.engine import resource
from heat.objects import resource as resource_objects
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

UNUSED = {'action': resource.Resource.DELETE,
          'status': resource.Resource.COMPLETE}


def make_replacement(rsrc, template_id, requires):
    """Heat's ``rsrc.make_replacement``, leaving no unused row behind.

    ``rsrc``: the Heat Resource to replace; ``template_id`` and
    ``requires``: as Heat's ``make_replacement`` takes them. Returns the id
    of the row that replaces ``rsrc`` (the one its ``replaced_by`` names
    when Heat's own answer was lost), or None when Heat could not replace
    it (another traversal holds or already replaced the row, or the
    template is gone). Database errors of Heat's calls propagate.
    """
    before = _rows_replacing(rsrc, template_id)
    try:
        new_id = rsrc.make_replacement(template_id, requires)
    except exception.UpdateInProgress:
        new_id = None
    after = _rows_replacing(rsrc, template_id)
    appeared = after.keys() - before.keys()
    if appeared <= {new_id}:
        return new_id
    named = resource_objects.Resource.get_obj(
        rsrc.context, rsrc.id, refresh=True,
        fields={'replaced_by'}).replaced_by
    if new_id is None and named in appeared:
        LOG.info('Resource %s (%s): its replacement %s was made although '
                 'the database refused it (a commit lost with its '
                 'connection)', rsrc.name, rsrc.id, named)
        new_id = named
    for row_id in sorted(appeared - {new_id, named}):
        _mark_unused(rsrc, after[row_id])
    return new_id


def _rows_replacing(rsrc, template_id):
    """The active rows replacing ``rsrc`` with ``template_id``: id -> row."""
    rows = resource_objects.Resource.get_all_by_root_stack(
        rsrc.context, rsrc.root_stack_id,
        {'stack_id': rsrc.stack.id, 'replaces': rsrc.id,
         'current_template_id': template_id})
    return {row.id: row for row in rows.values()
            if (row.action, row.status) != (UNUSED['action'],
                                            UNUSED['status'])}


def _mark_unused(rsrc, row):
    """Mark ``row``, inserted and never used, DELETE COMPLETE.

    ``row`` as read after Heat's call. Only while it is as Heat inserted
    it (INIT COMPLETE, unlocked) and unchanged since that read (a
    compare-and-swap on the atomic key read): a row some engine took up
    meanwhile is left alone.
    """
    marked = (row.action, row.status, row.engine_id) == (
        resource.Resource.INIT, resource.Resource.COMPLETE, None) and (
        resource_objects.Resource.select_and_update_by_id(
            rsrc.context, row.id, dict(UNUSED), expected_engine_id=None,
            atomic_key=row.atomic_key))
    if marked:
        LOG.info('Resource %s (%s): unused replacement row %s marked '
                 'DELETE COMPLETE', rsrc.name, rsrc.id, row.id)
    else:
        LOG.warning('Resource %s (%s): unused replacement row %s is in '
                    'use (%s %s, engine %s, or changed since); left alone',
                    rsrc.name, rsrc.id, row.id, row.action, row.status,
                    row.engine_id)
