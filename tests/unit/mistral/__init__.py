"""Tests of heat_mistral_engine.mistral (what runs in Mistral's processes)."""
