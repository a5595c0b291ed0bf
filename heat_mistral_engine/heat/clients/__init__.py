"""heat-engine's clients of other services.

Mistral's v2 API (``mistral_api``), the direct completion call to a
Mistral engine (``direct_completion``), and Heat's liveness check of other
heat-engines (``liveness``).
"""
