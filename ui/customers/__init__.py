"""Customers: the list with instant search, the customer 360 view, the editor and quick actions."""

from __future__ import annotations
