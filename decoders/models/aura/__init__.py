"""Device models of aura."""
