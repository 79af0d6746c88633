"""og-preview's store layer."""
