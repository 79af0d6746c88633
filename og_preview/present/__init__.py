"""og-preview's present layer."""
