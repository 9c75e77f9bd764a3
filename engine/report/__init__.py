"""Renderers: library results as text, JSON, Markdown, JUnit or GitHub annotations.

Each module has one job and returns strings, lists of lines or JSON-ready dicts;
none prints, exits or imports click, so the library and the ``triage`` command
share them.
"""
