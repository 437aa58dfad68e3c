"""mdtest: the Python side of mucdesk's test suite.

Add tests/lib to sys.path, then import the pieces you need:

    from mdtest.postgres import Postgres     # private PostgreSQL cluster
    from mdtest.prosody import Prosody       # private Prosody instance
    from mdtest.mucdesk import Mucdesk       # the daemon under test
    from mdtest.client import XmppSession    # slixmpp clients, driven synchronously
    from mdtest.ports import free_port

Everything here runs under Debian's /usr/bin/python3 and uses only Debian
packages (python3-slixmpp, python3-lxml, python3-pytest) plus the
PostgreSQL and Prosody binaries.  Every process it starts is tracked by
mdtest.procs and killed at interpreter exit if a test forgot to stop it.
"""

from pathlib import Path

#: The repository's top directory (tests/lib/mdtest/__init__.py is 3 levels down).
REPO = Path(__file__).resolve().parents[3]
