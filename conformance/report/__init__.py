"""Reporters: the live console display and the JUnit XML file."""
