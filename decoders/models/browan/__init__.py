"""Device models of browan."""
