"""``manage.py serve``: the site with a Celery worker and beat beside it, for `make run`.

The worker and beat run in their own sessions so that Ctrl-C reaches only this process, which
then stops them (SIGTERM, then SIGKILL after a grace period) before it exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the site with a Celery worker and beat; Ctrl-C stops all three."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))

    def handle(self, *args, host: str, port: str, **options) -> None:
        run_dir = Path(settings.RUN_DIR)
        for folder in ("broker/out", "broker/processed"):
            (run_dir / folder).mkdir(parents=True, exist_ok=True)
        celery = [sys.executable, "-m", "celery", "-A", "loyalty_site"]
        children = [
            self._start(celery + ["worker", "--loglevel=INFO", "--concurrency=2"], run_dir / "worker.log"),
            self._start(
                celery + ["beat", "--loglevel=INFO", "--schedule", str(run_dir / "celerybeat-schedule")],
                run_dir / "beat.log",
            ),
        ]
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        base = f"http://{host}:{port}"
        self.stdout.write(
            "\n"
            f"  Site:          {base}/\n"
            f"  Member portal: {base}/portal/\n"
            f"  Staff portal:  {base}/staff/    Admin: {base}/admin/\n"
            f"  API docs:      {base}/api/v1/docs/    Health: {base}/healthz\n"
            f"  Broker:        {settings.CELERY_BROKER_URL.split('@')[-1]}"
            f"    Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}\n"
            f"  Celery worker and beat log to {run_dir}/worker.log and beat.log. Ctrl-C stops everything.\n"
        )
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                child.terminate()
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()

    def _start(self, command: list[str], log_path: Path) -> subprocess.Popen:
        log = open(log_path, "ab")  # noqa: SIM115 -- the child owns it for its lifetime
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
