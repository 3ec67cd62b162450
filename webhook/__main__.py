"""``python -m webhook`` runs the ``aura-uplink`` command."""

from webhook.cli import main

main()
