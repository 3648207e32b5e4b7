"""`python -m atlassian.sandbox --port P ...`: serve the sandbox site (see server.main)."""

from atlassian.sandbox.server import main

raise SystemExit(main())
