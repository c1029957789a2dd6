"""Prompt templates and data files for answering (system prompt, answer format, fixed messages)."""
