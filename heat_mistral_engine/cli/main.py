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
