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

"""Checks that run Mistral's real engine in a child process.

Mistral's options and Heat's clash in one process, so each
``check_<name>.py`` here loads Mistral's configuration as a Mistral server
does, exercises one part of heat_mistral_engine.mistral, and prints one
JSON line with what it saw; ``run_check`` runs one and returns that line.
"""

import json
import os
import subprocess
import sys

SIDE = os.path.dirname(os.path.abspath(__file__))
# The tree these tests belong to: the child imports its package from here,
# not from wherever the test environment installed one.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(SIDE)))


def path(check):
    """The path of ``check_<check>.py``."""
    return os.path.join(SIDE, 'check_%s.py' % check)


def run_check(check, *args):
    """Run ``check_<check>.py`` with ``args``; its JSON line, decoded."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (ROOT, env.get('PYTHONPATH')) if p)
    out = subprocess.run(
        [sys.executable, '-W', 'ignore', path(check)] + list(args),
        capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])
