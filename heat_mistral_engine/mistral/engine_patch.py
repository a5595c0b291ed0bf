"""Former home of the patches of Mistral's engine, now ``patches``.

Kept for callers that name it (tools/bench/expression_cost.py, notes and
scripts written before the split); new code uses
``heat_mistral_engine.mistral.patches``.
"""

from heat_mistral_engine.mistral.patches import async_heartbeats_off
from heat_mistral_engine.mistral.patches import base
from heat_mistral_engine.mistral.patches import cache_expressions
from heat_mistral_engine.mistral.patches import direct_completions
from heat_mistral_engine.mistral.patches import lean_start_task
from heat_mistral_engine.mistral.patches import load_execution_data_together
from heat_mistral_engine.mistral.patches import local_task_start
from heat_mistral_engine.mistral.patches import prompt_joins
from heat_mistral_engine.mistral.patches import registry
from heat_mistral_engine.mistral.patches import skip_redundant_queries

install_all = registry.install_all
in_mistral_process = base.in_mistral_process

install = lean_start_task.PATCH.install
incompatibility = lean_start_task.PATCH.incompatibility
install_local_task_start = local_task_start.PATCH.install
local_task_start_incompatibility = local_task_start.PATCH.incompatibility
install_redundant_query_skip = skip_redundant_queries.PATCH.install
redundant_query_incompatibility = skip_redundant_queries.PATCH.incompatibility
install_expression_cache = cache_expressions.PATCH.install
expression_cache_incompatibility = cache_expressions.PATCH.incompatibility
install_async_heartbeat_skip = async_heartbeats_off.PATCH.install
heartbeat_incompatibility = async_heartbeats_off.PATCH.incompatibility
install_execution_data_group = load_execution_data_together.PATCH.install
execution_data_group_incompatibility = (
    load_execution_data_together.PATCH.incompatibility)
install_prompt_joins = prompt_joins.PATCH.install
prompt_joins_incompatibility = prompt_joins.PATCH.incompatibility

direct_completion_incompatibility = direct_completions.incompatibility
mistral_checks_identities = direct_completions.mistral_checks_identities
in_engine_process = direct_completions.in_engine_process
complete_action = direct_completions.complete_action
