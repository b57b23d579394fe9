"""Errors a user can fix. The CLI prints them as plain lines, never as a traceback."""
from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input (file, option, policy) with a message that says how to fix it."""
