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

"""Tell a stack's user something about a resource that is no state change.

Heat's only channel for that is a stack event of the resource with its
current action and status and a reason of its own, as Heat itself writes
"Hook <name> is cleared" or "Cannot signal resource during <action>"
(``openstack stack event list`` shows them with the others). Heat makes
them with ``Resource._add_event``, which is private: this module is the
one place that calls it, after checking its parameters.
"""

from heat.engine import resource as heat_resource
from oslo_log import log as logging

from heat_mistral_engine.heat.patches import heat_release

LOG = logging.getLogger(__name__)

_EXPECTED_PARAMS = ('self', 'action', 'status', 'reason')


def add(rsrc, reason):
    """Store a stack event of ``rsrc`` (its action and status) for ``reason``.

    Returns True if stored. Never raises: with a Heat whose
    ``_add_event`` this was not written for, or when the event cannot be
    stored, ``reason`` goes to the log instead (at WARNING).
    """
    problem = heat_release.signature_problem(
        'Resource._add_event',
        getattr(heat_resource.Resource, '_add_event', None),
        _EXPECTED_PARAMS)
    if problem is None:
        try:
            rsrc._add_event(rsrc.action, rsrc.status, reason)
            return True
        except Exception as exc:
            problem = 'the event could not be stored: %s' % exc
    LOG.warning('Resource %s of stack %s: %s (not shown to the user as an '
                'event: %s)', rsrc.name, rsrc.stack.id, reason, problem)
    return False
