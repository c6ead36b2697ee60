"""Follow-ups: the tasks a salesperson starts the day with, and completing them."""

from __future__ import annotations
