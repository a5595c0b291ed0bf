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

"""CoalescedCalls: every request is followed by a call that starts after it,
and requests made while a call runs are merged into one more call."""

import threading

from heat_mistral_engine.mistral import coalesced_calls
from tests.unit import base

WAIT = 5


class Gate(object):
    """A call that blocks until released, recording each start."""

    def __init__(self):
        self.starts = []
        self.started = threading.Semaphore(0)   # released once per start
        self.release = threading.Event()
        self.fail = False

    def __call__(self, key):
        self.starts.append(key)
        self.started.release()
        if not self.release.wait(WAIT):
            raise AssertionError('never released')
        if self.fail:
            raise RuntimeError('refresh failed')


class CoalescedCallsTest(base.TestCase):

    def start_first(self, calls, key='join'):
        runner = threading.Thread(target=calls.request, args=(key,))
        runner.start()
        self.addCleanup(runner.join, WAIT)
        return runner

    def test_a_request_with_none_running_calls_in_this_thread(self):
        seen = []
        calls = coalesced_calls.CoalescedCalls(seen.append)
        calls.request('a')
        calls.request('a')
        self.assertEqual(['a', 'a'], seen)
        self.assertEqual(set(), calls.running())

    def test_requests_during_a_call_merge_into_one_more_call(self):
        gate = Gate()
        calls = coalesced_calls.CoalescedCalls(gate)
        runner = self.start_first(calls)
        self.assertTrue(gate.started.acquire(timeout=WAIT))
        # Three inbound tasks finish while the first check runs: none of
        # them waits, and together they cost one more check.
        for _ in range(3):
            calls.request('join')
        self.assertEqual(['join'], gate.starts)
        gate.release.set()
        runner.join(WAIT)
        self.assertFalse(runner.is_alive())
        self.assertEqual(['join', 'join'], gate.starts)
        self.assertEqual(set(), calls.running())

    def test_other_keys_run_side_by_side(self):
        gate = Gate()
        calls = coalesced_calls.CoalescedCalls(gate)
        self.start_first(calls, 'one')
        self.assertTrue(gate.started.acquire(timeout=WAIT))
        other = self.start_first(calls, 'two')
        self.assertTrue(gate.started.acquire(timeout=WAIT))
        self.assertEqual(['one', 'two'], gate.starts)
        self.assertEqual({'one', 'two'}, calls.running())
        gate.release.set()
        other.join(WAIT)
        self.assertFalse(other.is_alive())

    def test_a_failed_call_releases_the_key_and_raises_to_its_caller(self):
        gate = Gate()
        gate.fail = True
        gate.release.set()
        calls = coalesced_calls.CoalescedCalls(gate)
        self.assertRaises(RuntimeError, calls.request, 'join')
        self.assertEqual(set(), calls.running())
        gate.fail = False
        calls.request('join')
        self.assertEqual(['join', 'join'], gate.starts)

    def test_no_request_is_left_without_a_later_call(self):
        # Many threads request while calls run; every request must be
        # followed by a call that started after it.
        lock = threading.Lock()
        clock = [0]
        call_starts = []

        def call(key):
            with lock:
                clock[0] += 1
                call_starts.append(clock[0])

        calls = coalesced_calls.CoalescedCalls(call)
        request_times = []

        def requester():
            for _ in range(200):
                with lock:
                    clock[0] += 1
                    request_times.append(clock[0])
                calls.request('join')

        threads = [threading.Thread(target=requester) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT * 4)
        self.assertEqual(set(), calls.running())
        self.assertGreater(max(call_starts), max(request_times))
        self.assertLessEqual(len(call_starts), len(request_times))
