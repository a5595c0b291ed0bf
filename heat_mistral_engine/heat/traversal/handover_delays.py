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

"""Random pauses at the plugin's hand-over points, for race tests only.

With ``[mistral_scheduler] handover_delay_max_ms`` above 0, ``pause(point)``
sleeps a random 0..max milliseconds and logs it, so that a race between a
traversal and the next user action, which a 2-core test machine would hide,
shows up in the generative differential tests (``tox -e difftest --
--delays``). The default, 0, makes ``pause`` return at once: production
code paths call it unconditionally.
"""

import random
import time

from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

# Not seeded: the delays are meant to vary between runs and engines.
_random = random.Random()


def pause(point, conf=cfg.CONF):
    """Sleep up to ``handover_delay_max_ms`` ms at hand-over ``point``.

    Returns the seconds slept (0.0 when the option is 0).
    """
    limit = conf.mistral_scheduler.handover_delay_max_ms
    if limit <= 0:
        return 0.0
    seconds = _random.uniform(0, limit) / 1000.0
    # INFO, not DEBUG: a test run should show that its delays are on.
    LOG.info('Test delay of %.3f s at %s', seconds, point)
    time.sleep(seconds)
    return seconds
