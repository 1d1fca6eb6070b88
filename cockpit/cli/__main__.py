"""`python -m cockpit.cli`: the same as the `cockpit` command."""

from cockpit.cli import main

main()
