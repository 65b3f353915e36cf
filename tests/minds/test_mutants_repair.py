"""Tests written to kill the mutants that survived the repair layer's own tests (see
docs/testing.md): each pins a behaviour a mutant changed without any test noticing."""
