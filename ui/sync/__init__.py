"""Sync in the app: background cycles, the status bar, enrolment and conflict review."""
