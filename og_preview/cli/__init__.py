"""og-preview's cli layer."""
