"""assets/contracts."""
