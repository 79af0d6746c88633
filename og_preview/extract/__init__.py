"""og-preview's extract layer."""
