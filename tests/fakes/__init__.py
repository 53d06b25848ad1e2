"""Test doubles for dependencies that cannot be installed here."""
