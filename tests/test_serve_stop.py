"""Ctrl-C on `make run` (manage.py serve) stops every process it started, every time."""
import os

import pytest

from tests.serving import ctrl_c_once
from tests.worker import database_url

STOPS = 2  # each start loads the pipeline (~10 s here); bench/ctrl_c.py does 10 in a row


@pytest.mark.django_db(transaction=True)
def test_ctrl_c_stops_the_server_the_worker_and_all_of_qclusters_processes(media_root):
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": database_url(), "MEDIA_ROOT": str(media_root),
           "PYTHONUNBUFFERED": "1"}
    for attempt in range(STOPS):
        stopped = ctrl_c_once(env)
        assert not stopped["left"], f"stop {attempt + 1}: {stopped}"
        assert stopped["processes"] >= 6  # runserver and qcluster's processes were all there to stop
        print(f"\nstop {attempt + 1}: {stopped['processes']} processes stopped in {stopped['stop_s']:.1f} s")
