"""Device models of seeed."""
