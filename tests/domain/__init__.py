"""Unit tests of the mock's domain, without HTTP (a package so module names never clash with other test dirs)."""
