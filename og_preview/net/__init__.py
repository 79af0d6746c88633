"""og-preview's net layer."""
