"""Signing in: the login and first-run setup dialogs, the idle lock and user switching."""
