"""What every page shares: app setup, access table, errors, forms, write helper, headers."""
