"""The commands that have logic of their own (``cli.py`` parses the command line and
calls them): preflight, listen, init, analyze, render, replay and report."""
