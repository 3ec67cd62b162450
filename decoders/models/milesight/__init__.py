"""Device models of milesight."""
