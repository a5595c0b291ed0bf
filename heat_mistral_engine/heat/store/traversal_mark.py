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

"""Which traversals Mistral orders: a mark stored with the traversal.

The orphan check fails a stack IN_PROGRESS whose current traversal has no
running Mistral execution. That judgement holds only for traversals the
plugin started. Others are Heat's own: native fallbacks (check, suspend,
resume, snapshot, restore, abandon, adopt, delete of a stack with
snapshots), a traversal started before the plugin was enabled, or one
started by an engine where the plugin is still off during a rolling
enable. So the traversal starter marks each traversal it hands to Mistral
with one row of Heat's ``sync_point`` table (``entity_id`` ``mistral``,
the traversal's id, ``is_update`` true, the stack's id), beside the
completion sync point and the slots (see ``slots``). Heat deletes a
traversal's sync points when it ends, fails or is replaced, so the mark
goes with its traversal.

The mark also holds who took the failure of its traversal in hand
(``claim_failure``): the failure watch of every engine worker sees the
same failed Mistral execution, and only the one that claims it fails the
stack. ``input_data`` is then ``{"hme_failed_by": {"execution": <id>,
"claimant": <engine id>}}``.

And it holds who drives the traversal again (``claim_redrive``) when
Mistral lost its execution's progress: ``{"hme_redrive": {"count": <re-drives
so far>, "execution": <the stalled execution>, "claimant": <engine id>,
"at": <ISO time of the claim>}}``, so that of the orphan checks of every
engine exactly one cancels the stalled execution and starts the next, and
the number of re-drives of one traversal stays bounded.
"""

from heat.common import exception
from heat.engine import sync_point
from heat.objects import sync_point as sync_point_object
from oslo_db import exception as db_exception
from oslo_utils import timeutils

ENTITY = 'mistral'
_FAILED_BY = 'hme_failed_by'
_REDRIVE = 'hme_redrive'

# Answers of claim_redrive.
WON = 'won'
LOST = 'lost'
EXHAUSTED = 'exhausted'


def mark(cnxt, stack_id, traversal):
    """Record that Mistral orders ``traversal`` of the stack.

    Called once per traversal, before its execution starts; a second call
    for the same traversal (a retried start) is a no-op.
    """
    try:
        sync_point.create(cnxt, ENTITY, traversal, True, stack_id)
    except db_exception.DBDuplicateEntry:
        pass


def is_marked(cnxt, traversal):
    """True if the traversal starter handed ``traversal`` to Mistral."""
    return marked_at(cnxt, traversal) is not None


def marked_at(cnxt, traversal):
    """When ``traversal`` was marked (naive UTC), or None if it is not.

    The moment its start handed it to Mistral: a stack's ``updated_at``
    is not always refreshed when a traversal starts (a delete keeps the
    time of the stack's last update), so the orphan check counts a
    traversal's age from its mark.
    """
    try:
        row = sync_point.get(cnxt, ENTITY, traversal, True)
    except exception.EntityNotFound:
        return None
    return row.created_at


def claim_failure(cnxt, traversal, execution_id, claimant):
    """Take the failure of ``traversal`` in hand for ``claimant``.

    True for one claimant only: a compare-and-swap on the mark's
    ``atomic_key``, so of the callers that read the same mark exactly one
    writes it; again True for that claimant (its retry after an error).
    False when the traversal has no mark (not Mistral's, or its sync
    points are gone with it) or another claimant has it.
    """
    row = sync_point_object.SyncPoint.get_by_key(cnxt, ENTITY, traversal,
                                                 True)
    if row is None:
        return False
    held = (row.input_data or {}).get(_FAILED_BY)
    if held:
        return held.get('claimant') == claimant
    return bool(sync_point_object.SyncPoint.update_input_data(
        cnxt, ENTITY, traversal, True, row.atomic_key,
        {_FAILED_BY: {'execution': execution_id, 'claimant': claimant}}))


def claim_redrive(cnxt, traversal, execution_id, claimant, limit,
                  stale_after):
    """Take in hand driving ``traversal`` again after its stalled execution.

    ``execution_id`` is the stalled execution; ``limit`` the most
    re-drives a traversal gets; ``stale_after`` the seconds after which a
    claim on the same execution by another claimant, whose re-drive never
    finished (its engine died between claim and start), may be taken over.
    Returns ``(answer, count)``: WON for one claimant only (a
    compare-and-swap on the mark's ``atomic_key``, as ``claim_failure``;
    again WON for the same claimant, its retry), with ``count`` the
    re-drives including this one; LOST when another claimant has it, the
    failure of the traversal is claimed, or the mark is gone (the
    traversal ended); EXHAUSTED when ``limit`` re-drives were done already.
    """
    row = sync_point_object.SyncPoint.get_by_key(cnxt, ENTITY, traversal,
                                                 True)
    if row is None:
        return LOST, 0
    data = dict(row.input_data or {})
    if data.get(_FAILED_BY):
        return LOST, 0
    held = data.get(_REDRIVE) or {}
    count = held.get('count', 0)
    if held.get('execution') == execution_id:
        if held.get('claimant') == claimant:
            return WON, count
        if not _older_than(held.get('at'), stale_after):
            return LOST, count
        # Its claimant never finished: take it over, as the same re-drive.
    elif count >= limit:
        return EXHAUSTED, count
    else:
        count += 1
    data[_REDRIVE] = {'count': count, 'execution': execution_id,
                      'claimant': claimant,
                      'at': timeutils.utcnow().isoformat()}
    written = sync_point_object.SyncPoint.update_input_data(
        cnxt, ENTITY, traversal, True, row.atomic_key, data)
    return (WON if written else LOST), count


def redriven_at(cnxt, traversal):
    """When ``traversal`` was last claimed for a re-drive (naive UTC), or None.

    The orphan check counts its grace period from then too: between the
    cancel of the stalled execution and the start of the next, the
    traversal has no running execution for a moment.
    """
    row = sync_point_object.SyncPoint.get_by_key(cnxt, ENTITY, traversal,
                                                 True)
    held = ((row.input_data or {}).get(_REDRIVE) if row is not None
            else None)
    if not held or not held.get('at'):
        return None
    return timeutils.normalize_time(timeutils.parse_isotime(held['at']))


def _older_than(stamp, seconds):
    if not stamp:
        return True
    then = timeutils.normalize_time(timeutils.parse_isotime(stamp))
    return (timeutils.utcnow() - then).total_seconds() >= seconds
