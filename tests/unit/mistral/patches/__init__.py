"""Tests of heat_mistral_engine.mistral.patches, one module per patch."""
