"""Device models of simplehw."""
