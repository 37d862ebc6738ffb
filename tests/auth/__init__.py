"""Tests for tokens, the permission table and the audit stream."""
