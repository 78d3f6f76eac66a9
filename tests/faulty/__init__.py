"""Deliberately faulty variants of the real mock, each breaking one rule, and the kit run against them."""
