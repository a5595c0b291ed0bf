"""The entry point heat-engine imports, and the wiring into Heat."""
