"""One scheduler pass in its own process (a second replica): `python -m tests.campaigns.run_pass_once NOW START_AT`.

Settings come from SUPPORTGATE_* variables; the pass waits until START_AT (epoch seconds) so that
two processes begin together.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

from service.settings import Settings
from service.storage.database import Database
from service.usecases.campaign_scheduler import run_pass


def main() -> None:
    now, start_at = datetime.fromisoformat(sys.argv[1]), float(sys.argv[2])
    settings = Settings()
    db = Database.connect(settings.database_url, pool_size=2)
    with db.reader() as session:  # connect before the start line
        session.connection()
    time.sleep(max(0.0, start_at - time.time()))
    print(run_pass(db, settings, now))
    db.dispose()


if __name__ == "__main__":
    main()
