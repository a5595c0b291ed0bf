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

"""The ``heat-mistral-engine`` command."""

import argparse
import logging
import sys

from heat_mistral_engine.cli import graph
from heat_mistral_engine.cli import orphans


def build_parser():
    parser = argparse.ArgumentParser(prog='heat-mistral-engine')
    subparsers = parser.add_subparsers(dest='command', required=True)
    graph.add_parser(subparsers)
    orphans.add_parser(subparsers)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    # Heat's plugin loading logs at INFO/WARNING; the output is the graph.
    logging.basicConfig(level=logging.ERROR)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
