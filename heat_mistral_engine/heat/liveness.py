"""Is an engine dead, or is the message bus down? (runs in heat-engine)

Heat's liveness check (``EngineListenerClient.is_alive``) is an RPC call
to the engine's listener that returns False when no answer comes within
``engine_life_check_timeout``. While the broker is down or restarting, no
engine answers, so every live engine would look dead: taking over their
resource locks, claims or slots then runs resources that are still
running a second time. Before an engine is called dead here, this engine
asks its own listener the same way: if it does not answer either, the bus
is what failed, and nothing is taken over (the caller looks again later).
"""

from heat.rpc import listener_client
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def answers(cnxt, engine_id):
    """Heat's own check: does ``engine_id``'s listener answer?"""
    if not engine_id:
        return False
    return listener_client.EngineListenerClient(engine_id).is_alive(cnxt)


def is_dead(cnxt, engine_id, me, is_alive=answers):
    """True if ``engine_id`` does not answer while this engine (``me``) does.

    ``is_alive(cnxt, engine_id) -> bool`` is Heat's check by default. Costs
    one call for a live engine, two for a dead one.
    """
    if is_alive(cnxt, engine_id):
        return False
    if is_alive(cnxt, me):
        return True
    LOG.warning('Engine %s does not answer the liveness check, and neither '
                'does this engine %s: the message bus is down, not the '
                'engine; nothing of it is taken over', engine_id, me)
    return False
