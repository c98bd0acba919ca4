"""``make bench-api``: the API's hot paths against their floor, side by side in one run.

One gunicorn (production settings plus ``bench.floor``, ``bench.settings_floor``) serves both
the site and the bare floor views; wrk loads each target's floor and then the site's endpoint,
in turn (floor, site, site, floor, each half the time, so that a load on the machine that grows
or fades weighs on both alike), with the same connections, and the table gives requests/s, p50
and p99 of each and the site's share of the floor's requests/s.

Targets: ``earn`` (``POST /api/v1/purchases/``), ``member`` (``GET /api/v1/members/{n}/``),
``redeem`` (``POST /api/v1/redemptions/``), ``dashboard`` (``GET /portal/`` as the demo member,
who has a year of history). After the run ``check_ledger`` must pass.

Environment (all optional): ``DATABASE_URL`` (PostgreSQL; default the benchmark database, created
when missing; migrated and seeded, never dropped), ``BENCH_REDIS_URL`` (the cache and broker,
default ``redis://127.0.0.1:6379/7``), ``BENCH_API_DURATION`` (seconds of load per variant, default 12),
``BENCH_API_CONNECTIONS`` (16), ``BENCH_API_WORKERS`` (gunicorn workers, 4), ``BENCH_API_PORT``
(8097), ``BENCH_API_TARGETS`` (comma-separated, default all), ``BENCH_API_OUT`` (.run/bench-api).
Loopback only.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.db import DEFAULT_URL, _create_database

ROOT = Path(__file__).resolve().parent.parent.parent
LOAD = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    script: str


TARGETS = [
    Target("earn", "POST /api/v1/purchases/", "purchases.lua"),
    Target("member", "GET /api/v1/members/{n}/", "members.lua"),
    Target("redeem", "POST /api/v1/redemptions/", "redemptions.lua"),
    Target("dashboard", "GET /portal/", "dashboard.lua"),
]


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors and non-2xx/3xx answers


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def parse_wrk(output: str) -> WrkResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    if non_2xx := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(non_2xx.group(1))
    return WrkResult(rps, p50, p99, requests, errors)


def combine(runs: list[WrkResult]) -> WrkResult:
    """Two runs of the same length as one: requests/s and p50 averaged, the worse p99."""
    return WrkResult(
        requests_per_second=sum(run.requests_per_second for run in runs) / len(runs),
        p50_ms=sum(run.p50_ms for run in runs) / len(runs),
        p99_ms=max(run.p99_ms for run in runs),
        requests=sum(run.requests for run in runs),
        errors=sum(run.errors for run in runs),
    )


def _env() -> dict[str, str]:
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"bench-api runs on PostgreSQL; DATABASE_URL is {url}")
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"),
        "DJANGO_SETTINGS_MODULE": "bench.settings_floor",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or f"bench-only-{secrets.token_urlsafe(32)}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE_RATE": "off",  # measure the stack, not the per-key throttle
        "PYTHONWARNINGS": "ignore:No directory at",  # whitenoise: no collectstatic for a bench
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def _vacuum(url: str, *tables: str) -> None:
    """Autovacuum may be off on a shared benchmark server (it is on this one): then the run
    vacuums for it, the whole database once prepared and the member rows (updated by every
    request) before each load, so that every load meets the tables in the same state."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SHOW autovacuum").fetchone()[0] == "off":
            conn.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer {url}")


def _check_dashboard(base: str, out: Path) -> None:
    """The dashboard answers the prepared session with the page, not a redirect to log in (wrk
    would count a redirect as an answer)."""
    cookie = {"Cookie": f"sessionid={(out / 'session').read_text().strip()}"}
    for path in ("/floor/portal/", "/portal/"):
        request = urllib.request.Request(base + path, headers=cookie)
        opener = urllib.request.build_opener(NoRedirect)
        with opener.open(request, timeout=10) as response:
            if response.status != 200:
                raise SystemExit(f"{path} answers {response.status}, not 200")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise SystemExit(f"{req.full_url} redirects to {newurl}: the session is not logged in")


def _wrk(env: dict, base: str, target: Target, *, prefix: str, seconds: int, connections: int) -> str:
    run_env = {**env, "LOAD_PREFIX": prefix, "LOAD_RUN": f"{time.time_ns()}"}
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(LOAD / target.script),
    ]
    return subprocess.run(
        [*command, base], env=run_env, check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout


def table(results: dict[str, tuple[WrkResult, WrkResult]], connections: int) -> str:
    rows = [
        "| endpoint | floor req/s | site req/s | site / floor | floor p50 | floor p99 | site p50 "
        "| site p99 | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for target in TARGETS:
        if target.name not in results:
            continue
        floor, site = results[target.name]
        rows.append(
            f"| `{target.label}` | {floor.requests_per_second:.0f} | {site.requests_per_second:.0f} "
            f"| **{site.requests_per_second / floor.requests_per_second:.2f}** | {floor.p50_ms:.1f} ms "
            f"| {floor.p99_ms:.1f} ms | {site.p50_ms:.1f} ms | {site.p99_ms:.1f} ms "
            f"| {floor.errors + site.errors} |"
        )
    return "\n".join(rows) + (
        f"\n\n{connections} connections, wrk -t2; per endpoint floor, site, site, floor, each half the"
        " duration; requests/s and p50 are the means of a variant's two runs, p99 the worse.\n"
    )


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk (make bench-api installs it)")
    env = _env()
    seconds = int(os.environ.get("BENCH_API_DURATION", "12"))
    connections = int(os.environ.get("BENCH_API_CONNECTIONS", "16"))
    workers = os.environ.get("BENCH_API_WORKERS", "4")
    port = os.environ.get("BENCH_API_PORT", "8097")
    wanted = os.environ.get("BENCH_API_TARGETS", "")
    targets = [t for t in TARGETS if not wanted or t.name in wanted.split(",")]
    out = Path(os.environ.get("BENCH_API_OUT", ROOT / ".run" / "bench-api")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    env["LOAD_DIR"] = str(out)
    base = f"http://127.0.0.1:{port}"

    print(f"== preparing {env['DATABASE_URL'].rsplit('/', 1)[-1]}", flush=True)
    _create_database(env["DATABASE_URL"])
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "seed_demo", "--force")  # DEBUG is off here, as in production
    subprocess.run([sys.executable, "-m", "bench.load.prepare", str(out)], cwd=ROOT, env=env, check=True)
    _vacuum(env["DATABASE_URL"])

    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "loyalty_site.wsgi",
            "-w",
            workers,
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            "--error-logfile",
            str(out / "gunicorn.log"),
        ],
        cwd=ROOT,
        env=env,
    )
    results: dict[str, tuple[WrkResult, WrkResult]] = {}
    try:
        _wait_for(f"{base}/healthz")
        _check_dashboard(base, out)
        for target in targets:
            print(f"== {target.name}: {target.label}", flush=True)
            # A short first run of each warms the workers (imports, connections, caches).
            for prefix in ("/floor", ""):
                _wrk(env, base, target, prefix=prefix, seconds=2, connections=connections)
            runs: dict[str, list[WrkResult]] = {"/floor": [], "": []}
            # Floor, site, site, floor: a load on the machine that grows or fades during the
            # four runs weighs on both alike.
            for n, prefix in enumerate(("/floor", "", "", "/floor")):
                _vacuum(env["DATABASE_URL"], "members_member")
                output = _wrk(env, base, target, prefix=prefix, seconds=seconds // 2, connections=connections)
                (out / f"{target.name}{prefix.replace('/', '-')}-{n}.txt").write_text(output)
                runs[prefix].append(parse_wrk(output))
            floor, site = combine(runs["/floor"]), combine(runs[""])
            for name, result in (("floor", floor), ("site ", site)):
                print(
                    f"   {name} {result.requests_per_second:8.1f} req/s  p50 {result.p50_ms:6.1f} ms"
                    f"  p99 {result.p99_ms:6.1f} ms  errors {result.errors}",
                    flush=True,
                )
            results[target.name] = (floor, site)
    finally:
        server.terminate()
        server.wait(timeout=30)

    report = table(results, connections)
    (out / "table.md").write_text(report)
    (out / "results.json").write_text(
        json.dumps({name: [asdict(floor), asdict(site)] for name, (floor, site) in results.items()}, indent=2)
    )
    print()
    print(report)
    print(_manage(env, "check_ledger").strip().splitlines()[-1])
    subprocess.run(["redis-cli", "-u", env["REDIS_URL"], "DEL", "celery"], capture_output=True)


if __name__ == "__main__":
    main()
