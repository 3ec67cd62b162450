"""aura-uplink webhook side: everything that does I/O (Flask routes, store, delivery, simulator)."""
