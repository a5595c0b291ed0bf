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

"""Each engine worker's heartbeat in Heat's database (runs in heat-engine).

Heat's liveness check is an RPC call: an engine cut off from the message
broker, that still reaches the database, fails it exactly as a dead one
does, and its resource nodes would be taken over and run a second time
while it still runs them (issue 26: a partitioned engine must not act
twice). So a second sign of life is read from the database: the
``updated_at`` of the worker's row of Heat's ``service`` table (the row
whose ``engine_id`` is the worker's, created by Heat's
``service_manage_report``). Heat moves it every ``[DEFAULT]
periodic_interval`` (60 s); ``Beater.beat`` moves it every ``[mistral_
scheduler] engine_heartbeat_interval`` seconds, with Heat's own
``Service.update_by_id``, as Heat's report does.

A reader never compares the stored time with its own clock (engines on
other hosts may be set differently): ``liveness`` looks whether the value
*changed* while it watched, by its own monotonic clock.
"""

from heat.common import context
from heat.common import exception
from heat.objects import service as service_objects
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def last_beats(cnxt=None):
    """{engine id: the ``updated_at`` of its service row} of Heat's rows.

    Rows Heat marked deleted are left out; an engine with no row (not
    reported yet, or cleaned up by Heat) is absent. One query.
    """
    cnxt = cnxt or context.get_admin_context()
    found = {}
    for row in service_objects.Service.get_all(cnxt):
        if row.engine_id:
            found[row.engine_id] = row.updated_at or row.created_at
    return found


def last_beat(engine_id, cnxt=None):
    """The ``updated_at`` of ``engine_id``'s service row, or None."""
    return last_beats(cnxt).get(engine_id)


class Beater:
    """Moves one engine worker's heartbeat; for a ``watchdog.Periodic``.

    :param engine_id: the worker's engine id (its service row's).
    """

    def __init__(self, engine_id):
        self.engine_id = engine_id
        self._service_id = None

    def beat(self):
        """Move the heartbeat once; False while the row does not exist.

        Heat creates the row at the worker's first report; until then (a
        few seconds after start) there is nothing to move. Raises what the
        database raises (the periodic runner logs it and beats again).
        """
        cnxt = context.get_admin_context()
        if self._service_id is None:
            for row in service_objects.Service.get_all(cnxt):
                if row.engine_id == self.engine_id:
                    self._service_id = row.id
                    break
            else:
                return False
        try:
            service_objects.Service.update_by_id(cnxt, self._service_id,
                                                 {'deleted_at': None})
        except exception.EntityNotFound:
            # Purged by hand: look for the row again at the next beat.
            self._service_id = None
            return False
        return True
