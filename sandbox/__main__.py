"""`python -m sandbox --port P ...`: serve the sandbox site (see server.main)."""

from sandbox.server import main

raise SystemExit(main())
