"""``python -m statoptim`` runs the console script."""
from statoptim.cli import main

raise SystemExit(main())
