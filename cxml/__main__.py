"""``python -m cxml`` runs the command line."""

from cxml.cli import main

main()
