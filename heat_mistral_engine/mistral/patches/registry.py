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

"""Installs every patch of Mistral's engine, in order.

Mistral loads action plugins on first use, so the patches take effect in
each Mistral process when it first imports this package's actions
(``actions``, ``hook_actions``), which call ``install_all``.

The one ordering rule: ``skip_redundant_queries`` before
``cache_expressions``. The expression cache keeps the expression functions
it finds when it is installed, so a ``task()`` replaced after it would
never be called. The other patches are independent of each other.
"""

from oslo_config import cfg

from heat_mistral_engine.mistral.patches import async_heartbeats_off
from heat_mistral_engine.mistral.patches import cache_expressions
from heat_mistral_engine.mistral.patches import lean_start_task
from heat_mistral_engine.mistral.patches import load_execution_data_together
from heat_mistral_engine.mistral.patches import local_task_start
from heat_mistral_engine.mistral.patches import own_task_context
from heat_mistral_engine.mistral.patches import prompt_joins
from heat_mistral_engine.mistral.patches import skip_redundant_queries

# In install order (see the module).
PATCHES = (
    lean_start_task.PATCH,
    local_task_start.PATCH,
    skip_redundant_queries.PATCH,
    cache_expressions.PATCH,
    async_heartbeats_off.PATCH,
    load_execution_data_together.PATCH,
    prompt_joins.PATCH,
    own_task_context.PATCH,
)


def install_all(conf=cfg.CONF):
    """Install every patch whose option is on; idempotent.

    Returns the options of the patches in place. Outside a Mistral process
    it does nothing and returns an empty list (see ``base``).
    """
    return [patch.option for patch in PATCHES if patch.install(conf)]
