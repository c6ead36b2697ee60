"""The audit trail page for managers."""
