import types

import testtools

from heat_mistral_engine.heat.api import rows
from heat_mistral_engine.osc import workflow_show
from tests.unit.heat.api import test_rows


class DotTest(testtools.TestCase):

    def test_dot_colours_by_state(self):
        spec = test_rows.spec()
        found = rows.task_rows(spec, [types.SimpleNamespace(
            name='a', state='SUCCESS', started_at=None, finished_at=None,
            state_info=None)])
        out = workflow_show.dot(rows.edge_rows(spec), found, 'title')
        self.assertIn('"a" [label="a\\nSUCCESS", fillcolor=palegreen];', out)
        self.assertIn('"b" [label="b\\nNOT STARTED", fillcolor=white];', out)
        self.assertIn('"a" -> "b" [label="get_attr,hosted_on"];', out)
        self.assertIn('"a" -> "a_cleanup";', out)
