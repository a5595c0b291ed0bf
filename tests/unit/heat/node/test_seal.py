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

"""Sealed receipts and the checks a node request must pass (node_guard)."""

import types
from unittest import mock

from heat.engine import dependencies
from heat.engine import stack as heat_stack

from heat_mistral_engine.heat.node import guard as node_guard
from heat_mistral_engine.heat.node import seal as node_seal
from heat_mistral_engine.heat.traversal import traversal_token
from heat_mistral_engine import protocol
from tests.unit import base

STACK = 'stack-0001'
TRAV = 'trav-0001'
SECRET = 'hidden-parameter-value-4711'
DATA = {'id': 3, 'name': 'a', 'attrs': {'output': SECRET}}


def cnode(rid, is_update=True):
    return heat_stack.ConvergenceNode(rid, is_update)


class ReceiptTest(base.TestCase):

    def test_round_trip_gives_the_node_data(self):
        receipt = node_seal.seal(STACK, TRAV, 3, True, DATA)
        self.assertEqual(DATA, node_seal.open_receipt(receipt, STACK, TRAV,
                                                      3, True))
        cleanup = node_seal.seal(STACK, TRAV, 3, False)
        self.assertIsNone(node_seal.open_receipt(cleanup, STACK, TRAV, 3,
                                                 False))

    def test_data_is_not_in_clear_text(self):
        receipt = node_seal.seal(STACK, TRAV, 3, True, DATA)
        for clear in (SECRET, STACK, TRAV, 'output'):
            self.assertNotIn(clear, receipt)

    def test_receipt_of_another_node_stack_or_traversal_is_refused(self):
        receipt = node_seal.seal(STACK, TRAV, 3, True, DATA)
        for other in ((STACK, TRAV, 4, True), (STACK, TRAV, 3, False),
                      ('stack-2', TRAV, 3, True), (STACK, 'trav-2', 3, True)):
            exc = self.assertRaises(node_seal.InvalidReceipt,
                                    node_seal.open_receipt, receipt, *other)
            self.assertIn('was sealed for resource 3 (create/update) of '
                          'stack %s traversal %s' % (STACK, TRAV), str(exc))

    def test_forged_edited_and_foreign_receipts_are_refused(self):
        receipt = node_seal.seal(STACK, TRAV, 3, True, DATA)
        flipped = receipt[:40] + ('A' if receipt[40] != 'A' else 'B') + \
            receipt[41:]
        token = traversal_token.seal(mock.Mock(to_dict=lambda: {}), STACK,
                                     TRAV).split(':', 1)[1]
        for bad in (flipped, 'garbage', '', '{"attrs": {}}', token,
                    receipt[:-4]):
            exc = self.assertRaises(node_seal.InvalidReceipt,
                                    node_seal.open_receipt, bad, STACK, TRAV,
                                    3, True)
            self.assertIn('not sealed by Heat', str(exc))
        self.conf.config(auth_encryption_key='b' * 32)
        self.assertRaises(node_seal.InvalidReceipt, node_seal.open_receipt,
                          receipt, STACK, TRAV, 3, True)

    def test_size_grows_with_the_data_only(self):
        # Fernet: base64 of (57 bytes + padded plain text); the binding
        # costs ~100 characters.
        small = node_seal.seal(STACK, TRAV, 3, True, {'attrs': {}})
        big = node_seal.seal(STACK, TRAV, 3, True,
                             {'attrs': {'o': 'x' * 3000}})
        self.assertLess(len(small), 300)
        self.assertLess(len(big) - len(small), 3000 * 4 / 3 + 40)


def request(rid=4, is_update=True, data=None):
    return protocol.NodeRequest.from_dict(protocol.node_request(
        action_execution_id='ax', stack_id=STACK, traversal=TRAV,
        resource_id=rid, is_update=is_update, data=data or {}, token='t'))


def graph():
    # 4 (update) requires 3 (update) and 2 (cleanup); 3 requires nothing.
    return node_guard.TraversalGraph(dependencies.Dependencies(edges=[
        (cnode(4), cnode(3)), (cnode(4), cnode(2, False)),
        (cnode(3), None), (cnode(2, False), None)]))


class OpenPredecessorsTest(base.TestCase):

    def receipts(self, **override):
        found = {'update:3': node_seal.seal(STACK, TRAV, 3, True, DATA),
                 'cleanup:2': node_seal.seal(STACK, TRAV, 2, False)}
        found.update(override)
        return {k: v for k, v in found.items() if v is not None}

    def test_every_predecessor_opens(self):
        self.assertEqual({'3': DATA}, node_guard.open_predecessors(
            request(data=self.receipts()), graph()))

    def test_missing_predecessor_is_refused(self):
        exc = self.assertRaises(
            node_guard.seal.InvalidReceipt,
            node_guard.open_predecessors,
            request(data=self.receipts(**{'cleanup:2': None})), graph())
        self.assertIn('no data from cleanup:2, which resource 4 '
                      '(create/update) depends on', str(exc))

    def test_data_for_a_non_predecessor_is_refused(self):
        extra = node_seal.seal(STACK, TRAV, 9, True, DATA)
        exc = self.assertRaises(
            node_seal.InvalidReceipt, node_guard.open_predecessors,
            request(data=self.receipts(**{'update:9': extra})), graph())
        self.assertIn("'update:9', which resource 4 (create/update) does "
                      "not depend on", str(exc))

    def test_receipt_moved_to_another_key_is_refused(self):
        moved = node_seal.seal(STACK, TRAV, 2, False)
        self.assertRaises(
            node_seal.InvalidReceipt, node_guard.open_predecessors,
            request(data=self.receipts(**{'update:3': moved})), graph())

    def test_root_node_needs_nothing(self):
        self.assertEqual({}, node_guard.open_predecessors(request(rid=3),
                                                          graph()))


class AdmitTest(base.TestCase):

    def setUp(self):
        super().setUp()
        # Each test with graphs of its own (they are kept per traversal).
        patcher = mock.patch.object(node_guard, 'TRAVERSAL_GRAPHS',
                                    node_guard.TraversalGraphs())
        patcher.start()
        self.addCleanup(patcher.stop)

    def admit(self, row, req=None):
        # The lean read and, for the graph, Heat's whole row.
        with mock.patch.object(node_guard.stack_row, 'traversal_state',
                               return_value=row), \
                mock.patch.object(node_guard.stack_object.Stack,
                                  'get_by_id', return_value=row):
            return node_guard.admit('ctx', req or request())

    def row(self, **kw):
        edges = [[[4, True], [3, True]], [[3, True], None]]
        values = dict(id=STACK, current_traversal=TRAV, status='IN_PROGRESS',
                      current_deps={'edges': edges})
        values.update(kw)
        return types.SimpleNamespace(**values)

    def test_node_of_the_current_traversal_is_admitted(self):
        found = self.admit(self.row(id='stack-admit-1'))
        self.assertEqual({cnode(3)}, found.requires(cnode(4)))

    def test_gone_stale_complete_or_foreign_node_is_refused(self):
        self.assertRaises(node_guard.NotAdmitted, self.admit, None)
        exc = self.assertRaises(node_guard.Stale, self.admit,
                                self.row(current_traversal='newer'))
        self.assertIn('superseded by newer', str(exc))
        exc = self.assertRaises(node_guard.NotAdmitted, self.admit,
                                self.row(status='COMPLETE'))
        self.assertIn('already complete', str(exc))
        exc = self.assertRaises(node_guard.NotAdmitted, self.admit,
                                self.row(id='stack-admit-2'),
                                request(rid=77))
        self.assertIn('resource 77 (create/update) is not a node of '
                      'traversal', str(exc))
        self.assertRaises(node_guard.NotAdmitted, self.admit,
                          self.row(id='stack-admit-3'),
                          request(rid=4, is_update=False))

    def test_the_graph_is_read_once_and_only_for_its_traversal(self):
        row = self.row(id='stack-admit-4')
        with mock.patch.object(node_guard.stack_row, 'traversal_state',
                               return_value=row), \
                mock.patch.object(node_guard.stack_object.Stack,
                                  'get_by_id') as whole_row:
            # The traversal moved on between the two reads: the graph
            # stored now is the newer one's, and is not taken.
            whole_row.return_value = self.row(id='stack-admit-4',
                                              current_traversal='newer')
            self.assertRaises(node_guard.Stale, node_guard.admit, 'ctx',
                              request())
            whole_row.return_value = row
            node_guard.admit('ctx', request())
            node_guard.admit('ctx', request(rid=3))
        # Once for the refused graph, once for the one kept.
        self.assertEqual(2, whole_row.call_count)
