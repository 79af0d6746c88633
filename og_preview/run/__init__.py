"""og-preview's run layer."""
