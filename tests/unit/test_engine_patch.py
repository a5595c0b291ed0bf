"""The Mistral-side patch that stops start_task sending the workflow spec.

Mistral's options and Heat's clash in one process, so the checks run in a
child process that loads Mistral's configuration as a Mistral server does
(tests/unit/mistral_side/check_engine_patch.py).
"""

import importlib.util
import json
import os
import subprocess
import sys

import testtools

from heat_mistral_engine.mistral import engine_patch
from tests.unit import base

CHECK = os.path.join(os.path.dirname(__file__), 'mistral_side',
                     'check_engine_patch.py')


def run_check(*args):
    out = subprocess.run([sys.executable, '-W', 'ignore', CHECK] + list(args),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class EnginePatchTest(base.TestCase):

    def test_start_task_no_longer_sends_the_spec(self):
        seen = run_check()
        self.assertIsNone(seen['incompatibility'])
        self.assertEqual('start_task', seen['method'])
        self.assertEqual('task-1', seen['task_ex_id'])
        self.assertEqual({'other': 'kept'}, seen['params'])
        self.assertTrue(seen['installed_again'])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = run_check('disabled')
        self.assertEqual({'wf_spec': 'THE SPEC', 'other': 'kept'},
                         seen['params'])
        self.assertFalse(seen['installed_again'])


class OutsideMistralTest(base.TestCase):

    def test_does_nothing_outside_a_mistral_process(self):
        # Heat-side tests import the actions too; they must not pull in
        # Mistral's engine (its options clash with Heat's).
        self.assertNotIn('mistral.config', sys.modules)
        self.assertFalse(engine_patch.install())
        self.assertNotIn('mistral.rpc.clients', sys.modules)
