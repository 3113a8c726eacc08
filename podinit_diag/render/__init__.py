"""Renderers turn reports into text; they never print and never decide exit codes."""
