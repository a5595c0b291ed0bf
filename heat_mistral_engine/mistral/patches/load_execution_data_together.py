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

"""``load_execution_data_together``: one query for an execution's data.

Mistral 23 defers a workflow execution's ``input``, ``params`` and
``context`` columns, each on its own, so the first read of each in a
transaction is a query of its own. Every transaction that completes or
starts a task reads all three (``params`` to look for notifiers, the
other two to evaluate expressions). The patch puts the three in one
SQLAlchemy deferred-column group, so that the first read loads them
together; the columns stay deferred (a query that does not read them does
not load them), and SQLAlchemy's group load leaves a column already
changed in the transaction as it is.

Same for every workflow (``base.SAME_FOR_EVERY_WORKFLOW``): the same
columns hold the same values; only the number of queries that load them
changes.
"""

import sqlalchemy
from sqlalchemy.orm import strategies

from heat_mistral_engine.mistral.patches import base

# WorkflowExecution's deferred columns that engine transactions read
# together; ``spec`` (the whole workflow, cached by Mistral's spec parser)
# and ``output`` (read when the workflow ends) stay on their own.
EXECUTION_DATA_COLUMNS = ('input', 'params', 'context')
EXECUTION_DATA_GROUP = 'hme_execution_data'
SUPPORTED_SQLALCHEMY = ((2, 0), (2, 2))   # [min, max)


class LoadExecutionDataTogether(base.Patch):
    option = 'load_execution_data_together'
    sharing = base.SAME_FOR_EVERY_WORKFLOW
    left_alone = 'Mistral\'s workflow execution columns as they are'
    cost = 'each task loads each of them with a query of its own'

    @property
    def applied(self):
        return ('Mistral loads a workflow execution\'s %s in one query'
                % ', '.join(EXECUTION_DATA_COLUMNS))

    def installed(self):
        return all(getattr(prop, 'group', None) == EXECUTION_DATA_GROUP
                   for prop in _properties())

    def mistral_problem(self):
        problem = base.version_problem('SQLAlchemy', sqlalchemy.__version__,
                                       SUPPORTED_SQLALCHEMY)
        if problem:
            return problem
        loader = deferred_column_loader()
        if loader is None:
            return 'SQLAlchemy has no deferred column loader'
        if 'group' not in getattr(loader, '__slots__', ()):
            return 'SQLAlchemy\'s deferred column loader has no group'
        for key, prop in zip(EXECUTION_DATA_COLUMNS, _properties()):
            if prop is None or not getattr(prop, 'deferred', False):
                return 'WorkflowExecution.%s is not a deferred column' % key
            if prop.group not in (None, EXECUTION_DATA_GROUP):
                return 'WorkflowExecution.%s is already in group %s' % (
                    key, prop.group)
            if (not isinstance(prop.strategy, loader) or
                    not isinstance(getattr(prop, '_strategies', None),
                                   dict)):
                return ('WorkflowExecution.%s is not loaded on first read'
                        % key)
        return None

    def apply(self):
        loader = deferred_column_loader()
        props = _properties()
        # The properties first: a loader that already sees the group loads
        # the properties that are in it, its own always among them.
        for prop in props:
            prop.group = EXECUTION_DATA_GROUP
        for prop in props:
            for strategy in list(prop._strategies.values()):
                if isinstance(strategy, loader):
                    strategy.group = EXECUTION_DATA_GROUP


def _properties():
    """WorkflowExecution's mapped properties of the columns (None if not)."""
    from mistral.db.v2.sqlalchemy import models
    mapper = sqlalchemy.inspect(models.WorkflowExecution)
    return [mapper.attrs.get(key) for key in EXECUTION_DATA_COLUMNS]


def deferred_column_loader():
    """SQLAlchemy's loader strategy of deferred columns (named by release)."""
    return (getattr(strategies, '_DeferredColumnLoader', None) or
            getattr(strategies, 'DeferredColumnLoader', None))


PATCH = LoadExecutionDataTogether()
