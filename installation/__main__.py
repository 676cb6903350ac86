"""``python -m installation`` runs the ``ecosymphony`` command."""

from installation.cli import main

raise SystemExit(main())
