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

"""heat-engine's side of direct completions (``mistral.completion_server``).

A node request that names a ``completion_topic`` may be completed by an RPC
call to any Mistral engine on that topic, on Heat's own bus, instead of
through Mistral's API. ``DirectCompletions.complete`` makes that call and
says how it ended; ``MistralService.complete_action`` falls back to the API
whenever the call did not complete the action execution.

A call nobody answers within ``[mistral_scheduler]
direct_completion_timeout`` (no Mistral engine has loaded the actions yet,
after a Mistral restart) makes this process use the API alone for
``RETRY_DIRECT_AFTER`` seconds, so that the nodes of that period do not
each wait for the same timeout. An unanswered call may still land later;
whichever of it and the API's completion comes second is refused by
Mistral as "already completed", which both sides expect.
"""

import threading
import time

import oslo_messaging
from heat.common import messaging as heat_messaging
from oslo_log import log as logging

from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)

# Seconds to complete through the API alone after a call got no answer
# (the option's help says "the next minute").
RETRY_DIRECT_AFTER = 60.0


class Unanswered(Exception):
    """The call got no answer: it may or may not have landed."""


class Refused(Exception):
    """A Mistral engine answered with an error; nothing was completed.

    The message is the engine's (for an action execution completed
    before: Mistral's "is already completed").
    """


class DirectCompletions:
    """RPC calls to Mistral's engines, one client per topic; thread-safe."""

    def __init__(self, timeout, clock=time.monotonic, client_factory=None):
        self._timeout = timeout
        self._clock = clock
        self._client_factory = client_factory or _rpc_client
        self._clients = {}
        self._lock = threading.Lock()
        self._api_only_until = None

    def usable(self, topic):
        """True if ``topic`` is worth a call now (see the module)."""
        if not topic:
            return False
        with self._lock:
            until = self._api_only_until
            if until is not None and self._clock() < until:
                return False
            self._api_only_until = None
            return True

    def complete(self, topic, action_execution_id, state, output):
        """Have a Mistral engine on ``topic`` complete the action execution.

        Returns when it did. Raises ``Unanswered`` (and uses the API alone
        for a while) or ``Refused``.
        """
        client = self._client(topic)
        try:
            client.call({}, protocol.COMPLETION_METHOD,
                        action_execution_id=action_execution_id,
                        state=state, output=output)
        except oslo_messaging.MessagingTimeout as exc:
            with self._lock:
                self._api_only_until = self._clock() + RETRY_DIRECT_AFTER
            LOG.warning('No Mistral engine answered on topic %s within %s '
                        's; results go through Mistral\'s API for the next '
                        '%d s', topic, self._timeout, RETRY_DIRECT_AFTER)
            raise Unanswered('no answer on topic %s within %s s'
                             % (topic, self._timeout)) from exc
        except oslo_messaging.RemoteError as exc:
            raise Refused('%s: %s' % (exc.exc_type, exc.value)) from exc
        except oslo_messaging.MessagingException as exc:
            # The broker took the call or not: it may have landed.
            raise Unanswered(str(exc)) from exc
        except Exception as exc:
            # What the engine raised, when oslo.messaging re-creates it
            # here (built-in exceptions) rather than as a RemoteError.
            raise Refused('%s: %s' % (type(exc).__name__, exc)) from exc

    def _client(self, topic):
        with self._lock:
            client = self._clients.get(topic)
            if client is None:
                client = self._client_factory(topic, self._timeout)
                self._clients[topic] = client
            return client


def _rpc_client(topic, timeout):
    # Heat's transport and exchange (the one Mistral's engines listen on);
    # no context serializer: the call carries no Heat context.
    target = oslo_messaging.Target(
        topic=topic, version=protocol.COMPLETION_RPC_API_VERSION)
    return oslo_messaging.get_rpc_client(
        heat_messaging.TRANSPORT, target, timeout=timeout)
