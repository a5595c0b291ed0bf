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
whenever the call did not complete the action execution, except when the
engine found that the action execution is not the node's (``Foreign``).

The request's topic comes from Mistral, not from heat.conf: only the topic
Mistral's engines serve (``protocol.completion_topic`` of this engine's
``rpc_topic``) is worth a call. Any other goes through the API at once:
nobody may make a node's thread wait for an answer on a topic that no
engine serves, nor make this process keep a client per made-up topic.

Calls nobody answers within ``[mistral_scheduler]
direct_completion_timeout`` (no Mistral engine has loaded the actions yet,
after a Mistral restart) make this process use the API alone for
``RETRY_DIRECT_AFTER`` seconds, so that the nodes of that period do not
each wait for the same timeout; it takes ``UNANSWERED_TO_PAUSE`` such
calls in a row, with no answer in between, so that one call that went
astray does not turn the feature off. An unanswered call may still land
later; whichever of it and the API's completion comes second is refused
by Mistral as "already completed", which both sides expect.
"""

import threading
import time

import oslo_messaging
from heat.common import messaging as heat_messaging
from oslo_log import log as logging

from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)

# Seconds to complete through the API alone after calls got no answer
# (the option's help says "the next minute").
RETRY_DIRECT_AFTER = 60.0
# Unanswered calls in a row (no answer between them) that start that pause.
UNANSWERED_TO_PAUSE = 2


class Unanswered(Exception):
    """The call got no answer: it may or may not have landed."""


class Refused(Exception):
    """A Mistral engine answered with an error; nothing was completed.

    The message is the engine's (for an action execution completed
    before: Mistral's "is already completed").
    """


class Foreign(Refused):
    """The engine found that the action execution is not the node's own.

    ``protocol.ForeignActionExecution``: nothing may complete it for this
    node, through the API neither.
    """


class DirectCompletions:
    """RPC calls to Mistral's engines on their one topic; thread-safe."""

    def __init__(self, timeout, topic, clock=time.monotonic,
                 client_factory=None):
        """Calls on ``topic`` (``protocol.completion_topic``) only."""
        self._timeout = timeout
        self._topic = topic
        self._clock = clock
        self._client_factory = client_factory or _rpc_client
        self._client = None
        self._lock = threading.Lock()
        self._unanswered = 0
        self._api_only_until = None

    def usable(self, topic):
        """True if a call on the request's ``topic`` is worth it now.

        Only the topic Mistral's engines serve is; and not while calls go
        unanswered (see the module).
        """
        if not topic:
            return False
        if topic != self._topic:
            LOG.warning('A node request named completion topic %s, which '
                        'no Mistral engine serves (they serve %s); its '
                        'result goes through Mistral\'s API',
                        protocol.short(topic), self._topic)
            return False
        with self._lock:
            until = self._api_only_until
            if until is not None and self._clock() < until:
                return False
            self._api_only_until = None
            return True

    def complete(self, topic, action_execution_id, state, output, node):
        """Have a Mistral engine on ``topic`` complete the node's action.

        ``node`` maps ``protocol.COMPLETION_NODE`` to the node's values:
        the engine completes the action execution only if it is that
        node's own. Returns when it did. Raises ``Unanswered`` (and may
        use the API alone for a while), ``Foreign`` or ``Refused`` (a
        topic other than the served one is refused without a call).
        """
        if topic != self._topic:
            raise Refused('completion topic %s is not %s'
                          % (protocol.short(topic), self._topic))
        try:
            self._rpc().call({}, protocol.COMPLETION_METHOD,
                             action_execution_id=action_execution_id,
                             state=state, output=output, **node)
        except oslo_messaging.MessagingTimeout as exc:
            self._no_answer()
            raise Unanswered('no answer on topic %s within %s s'
                             % (topic, self._timeout)) from exc
        except oslo_messaging.RemoteError as exc:
            self._answered()
            raise _refused(exc.exc_type, exc.value) from exc
        except oslo_messaging.MessagingException as exc:
            # The broker took the call or not: it may have landed.
            raise Unanswered(str(exc)) from exc
        except Exception as exc:
            # What the engine raised, when oslo.messaging re-creates it
            # here (built-in exceptions) rather than as a RemoteError.
            self._answered()
            raise _refused(type(exc).__name__, exc) from exc
        self._answered()

    def _answered(self):
        with self._lock:
            self._unanswered = 0

    def _no_answer(self):
        with self._lock:
            self._unanswered += 1
            pause = self._unanswered >= UNANSWERED_TO_PAUSE
            if pause:
                self._unanswered = 0
                self._api_only_until = self._clock() + RETRY_DIRECT_AFTER
        if pause:
            LOG.warning('No Mistral engine answered on topic %s within %s '
                        's, %d calls in a row; results go through Mistral\'s '
                        'API for the next %d s', self._topic, self._timeout,
                        UNANSWERED_TO_PAUSE, RETRY_DIRECT_AFTER)
        else:
            LOG.warning('No Mistral engine answered on topic %s within %s '
                        's; this result goes through Mistral\'s API',
                        self._topic, self._timeout)

    def _rpc(self):
        with self._lock:
            if self._client is None:
                self._client = self._client_factory(self._topic,
                                                    self._timeout)
            return self._client


def _refused(exc_type, value):
    """The Refused (or Foreign) for an engine's exception."""
    cls = (Foreign if exc_type == protocol.ForeignActionExecution.__name__
           else Refused)
    return cls('%s: %s' % (exc_type, value))


def _rpc_client(topic, timeout):
    # Heat's transport and exchange (the one Mistral's engines listen on);
    # no context serializer: the call carries no Heat context.
    target = oslo_messaging.Target(
        topic=topic, version=protocol.COMPLETION_RPC_API_VERSION)
    return oslo_messaging.get_rpc_client(
        heat_messaging.TRANSPORT, target, timeout=timeout)
