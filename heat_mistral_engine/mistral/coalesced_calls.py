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

"""Run ``call(key)`` now, merging requests that arrive while it runs.

Contract of ``CoalescedCalls.request(key)``: when it returns, ``call(key)``
has started at least once after the request was made, in this thread or
in the thread that was already running it. Requests for one key that
arrive while a call for that key runs do not wait and do not start calls
of their own: they make the running thread call once more when it is done.
Calls for different keys run side by side.

That is what a state check needs when many events can each make it true
(the last inbound task of a Mistral ``join`` finishing): every event is
followed by a check that starts after it, yet 200 events arriving together
cost a few checks, not 200.
"""

import threading


class CoalescedCalls(object):
    """Coalesces concurrent ``call(key)`` requests per key (see module)."""

    def __init__(self, call):
        self._call = call
        self._lock = threading.Lock()
        # key -> True when another request arrived during the running call.
        self._again = {}

    def running(self):
        """Keys whose call is running now (for tests and logs)."""
        with self._lock:
            return set(self._again)

    def request(self, key):
        """Call ``call(key)``, or have the thread calling it call again.

        An exception from ``call`` propagates to the thread that ran it,
        after the key is released (a later request calls again); requests
        merged into that run are dropped with it, so the caller of
        ``request`` that sees the exception owns the fallback.
        """
        with self._lock:
            if key in self._again:
                self._again[key] = True
                return
            self._again[key] = False
        try:
            while True:
                self._call(key)
                with self._lock:
                    # Checked and released under one hold of the lock, so
                    # a request arriving now either is seen here or finds
                    # the key free and calls itself.
                    if not self._again[key]:
                        del self._again[key]
                        return
                    self._again[key] = False
        except BaseException:
            with self._lock:
                self._again.pop(key, None)
            raise
