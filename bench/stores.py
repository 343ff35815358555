"""Benchmark: the certificate store list and a store's inventory page through HTTP, against the raw SQL of each page.

Usage: .venv/bin/python bench/stores.py [--stores 100000] [--entries 1000000] [--certificates 200000]
                                        [--agents 1000] [--big-store 100000] [--repeat 100] [--budget 30]
                                        [--databases sqlite,postgresql]
                                        [--postgres-url postgresql://postgres@127.0.0.1:5432/test] [--quick]

For each database it bulk-loads a fresh, migrated database (orchjobs.store.bulk.copy_rows, fixed seed) with
`--agents` orchestrators, `--stores` certificate stores spread evenly over them (PEM and JKS, realistic paths), each
with its Inventory scheduled job, `--certificates` certificates and `--entries` inventory entries pointing at them:
one store holds `--big-store` entries, the rest are spread at random over the other stores. It starts `orchjobs` in
its own process (one uvicorn worker, bench/run.py's ServerProcess) and times, in the same run:
- GET /CertificateStores page 1 and page 1000 (ReturnLimit 50, default order: ClientMachine), and page 1 of
  `ClientMachine -eq "<one orchestrator>"` (100 stores at the defaults);
- GET /CertificateStores/{id}/Inventory of the big store, page 1 and page 1000 (ReturnLimit 50, by alias);
each against the raw SELECT of the same page through the bare driver in this process, and against
bench/bare_stores_app.py, a bare Starlette endpoint running that SELECT (the HTTP floor). The raw SELECT is not
written by hand: it is the statement (text and parameters) orchjobs' own store function sends for that page,
captured from SQLAlchemy. It prints the plans, then a Markdown table of medians and ratios (HTTP / baseline).
Not a test: nothing here asserts timings. `--quick` is a smoke run (10,000 stores, 100,000 entries, 20 repeats).
"""

import argparse
import hashlib
import json
import pickle
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from run import (
    Figures,
    RawDatabase,
    Server,
    ServerProcess,
    _free_port,
    _timed,
    drop_postgres,
    log,
    prepare_database,
    render,
)
from sqlalchemy import Engine, event, select, text

from orchjobs.domain.capabilities import store_capability
from orchjobs.domain.schedules import first_run_at, schedule_type
from orchjobs.domain.store_types import JKS, PEM
from orchjobs.service import certificates as certificate_service
from orchjobs.service import listing
from orchjobs.service.listing import PageRequest
from orchjobs.service.stores import CERTIFICATE_STORES
from orchjobs.store.bulk import copy_rows
from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import upgrade
from orchjobs.store.tables import (
    agent,
    certificate,
    certificate_store,
    certificate_store_entry,
    job_type,
    scheduled_job,
)

SEED = 20261130
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DATABASE = "orchjobs_bench_stores"
PAGE = 50
MAX_QUERY_LENGTH = 4000
APPS = ("nginx", "tomcat", "kafka", "jenkins", "haproxy", "keycloak", "elasticsearch", "postfix", "ldap", "vault")
JOB_COLUMNS = (
    "id", "agent_id", "job_type_id", "certificate_store_id", "schedule", "schedule_type", "target_path",
    "requested_at", "next_run_at", "capability", "priority",
)  # fmt: skip
CERTIFICATE_COLUMNS = (
    "id", "thumbprint", "serial_number", "issued_dn", "issued_cn", "issuer_dn", "not_before", "not_after",
    "signing_algorithm", "key_type", "key_size", "import_date", "content",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--certificates", type=int, default=200_000)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--big-store", type=int, default=100_000, help="inventory entries of the one big store")
    parser.add_argument("--repeat", type=int, default=100, help="timed requests per page measurement")
    parser.add_argument(
        "--budget", type=float, default=30, help="seconds a page measurement may take: a slow page gets fewer runs"
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--quick", action="store_true", help="10,000 stores, 100,000 entries, 20 repeats")
    args = parser.parse_args()
    if args.quick:
        args.stores, args.entries, args.certificates, args.agents = 10_000, 100_000, 20_000, 100
        args.big_store, args.repeat = 10_000, 20
    if args.big_store > min(args.entries, args.certificates) or args.stores < 2:
        parser.error("--big-store must not exceed --entries or --certificates, and --stores must be at least 2")
    all_figures = []
    with tempfile.TemporaryDirectory(prefix="orchjobs-bench-") as scratch:
        for kind in args.databases.split(","):
            url, path = prepare_database(kind, Path(scratch), args.postgres_url, name=DATABASE)
            try:
                all_figures.append(run_database(kind, url, path, Path(scratch), args))
            finally:
                if kind == "postgresql":
                    drop_postgres(args.postgres_url, name=DATABASE)
    print(
        render(
            all_figures,
            seeded=f"loading {args.stores:,} stores with their inventory jobs, {args.certificates:,} certificates "
            f"and {args.entries:,} entries",
        )
    )


def run_database(kind: str, url: str, path: Path | None, scratch: Path, args: argparse.Namespace) -> Figures:
    figures = Figures(database=kind, rows=args.stores)
    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    data = seed(engine, args)
    figures.seconds_seed = time.perf_counter() - start
    raw = RawDatabase(kind, url, path)
    raw.execute("VACUUM ANALYZE" if kind == "postgresql" else "ANALYZE")
    if kind == "postgresql":
        raw.execute("CHECKPOINT")
    else:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    log(f"{kind}: loaded in {figures.seconds_seed:.1f} s")
    pages = page_cases(data)
    statements = {name: capture(engine, case["call"]) for name, case in pages.items()}
    engine.dispose()
    for name, (sql, params) in statements.items():
        log(f"{kind}: {name}: plan:\n{explain(raw, sql, params)}")
    statements_file = scratch / f"statements-{kind}.pickle"
    statements_file.write_bytes(pickle.dumps(statements))
    with Server(url) as server, bare_server(url, statements_file) as bare:
        for name, case in pages.items():
            measure(raw, server, bare, figures, name, case, statements[name], runs=args.repeat, budget=args.budget)
    raw.conn.close()
    figures.notes.append(
        f"the big store holds {data['big_entries']:,} entries; the other stores {data['other_entries']:,} "
        f"({data['other_entries'] / max(1, args.stores - 1):.1f} each on average)"
    )
    return figures


# --- seeding -----------------------------------------------------------------------------------------------------


def seed(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    """Agents, stores with their inventory jobs, certificates and entries, bulk-loaded in one transaction; what the
    measurements need to know about them."""
    rng = random.Random(SEED)
    names = [f"orch-{number:04d}.example.com" for number in range(args.agents)]
    agent_ids = [_uuid(rng) for _ in names]
    store_ids = sorted(_uuid(rng) for _ in range(args.stores))
    big = len(store_ids) // 2
    with engine.begin() as conn:
        inventory_type = conn.execute(select(job_type.c.id).where(job_type.c.name == "Inventory")).scalar_one()
        copy_rows(
            conn,
            agent,
            ("id", "client_machine", "username", "platform", "version", "status", "last_seen",
             "auth_certificate_reenrollment"),
            [(agent_id, name, "svc", 7, "10.4.1", 2, NOW, 0) for agent_id, name in zip(agent_ids, names, strict=True)],
        )  # fmt: skip
        # Secondary indexes are built once after the load, and rows come in key order: loading is several times
        # faster.
        tables = (certificate_store, scheduled_job, certificate, certificate_store_entry)
        for table in tables:
            for index in table.indexes:
                index.drop(conn)
        stores = list(_stores(rng, store_ids, agent_ids, names, big=big))
        copy_rows(
            conn,
            certificate_store,
            ("id", "agent_id", "store_type_id", "client_machine", "store_path", "properties", "approved",
             "create_if_missing", "password"),
            stores,
        )  # fmt: skip
        copy_rows(conn, scheduled_job, JOB_COLUMNS, _inventory_jobs(rng, stores, inventory_type))
        copy_rows(conn, certificate, CERTIFICATE_COLUMNS, _certificates(rng, args.certificates))
        if conn.dialect.name == "postgresql":
            last = {"last": args.certificates}
            conn.execute(text("SELECT setval(pg_get_serial_sequence('certificate', 'id'), :last)"), last)
        per_store = _entry_counts(rng, len(store_ids), big=big, big_entries=args.big_store, entries=args.entries)
        copy_rows(
            conn,
            certificate_store_entry,
            ("store_id", "alias", "certificate_id", "private_key_entry"),
            _entries(rng, stores, per_store, certificates=args.certificates),
        )
        for table in tables:
            for index in table.indexes:
                index.create(conn)
    machine = names[len(names) // 3]
    return {
        "stores": len(store_ids),
        "big_store": store_ids[big],
        "machine": machine,
        "big_entries": per_store[big],
        "other_entries": sum(per_store) - per_store[big],
    }


def _stores(
    rng: random.Random,
    store_ids: Sequence[uuid.UUID],
    agent_ids: Sequence[uuid.UUID],
    names: Sequence[str],
    *,
    big: int,
) -> Iterator[tuple[Any, ...]]:
    """Stores on their orchestrator's own machine, the same number on each; 60 % PEM, 40 % JKS."""
    owners = list(range(len(agent_ids)))
    for position, store_id in enumerate(store_ids):
        if position % len(owners) == 0:
            rng.shuffle(owners)
        owner = owners[position % len(owners)]
        app = rng.choice(APPS)
        if position == big:
            # The big store: a shared trust store.
            yield (store_id, agent_ids[owner], JKS.id, names[owner], "/opt/pki/truststore/cacerts.jks", "{}", True,
                   False, "changeit")  # fmt: skip
        elif rng.random() < 0.6:
            path = f"/etc/ssl/{app}/{position:06d}/server.pem"
            yield (store_id, agent_ids[owner], PEM.id, names[owner], path, '{"separatePrivateKey": "false"}', True,
                   False, None)  # fmt: skip
        else:
            path = f"/opt/{app}/{position:06d}/conf/keystore.jks"
            yield (store_id, agent_ids[owner], JKS.id, names[owner], path, "{}", True, False, "changeit")


def _inventory_jobs(
    rng: random.Random, stores: Sequence[tuple[Any, ...]], inventory_type: uuid.UUID
) -> Iterator[tuple[Any, ...]]:
    """One Inventory job per store, every 12 hours or daily, as POST /CertificateStores/Schedule makes them."""
    for store_id, agent_id, type_id, _machine, path, *_rest in stores:
        if rng.random() < 0.7:
            schedule: dict[str, Any] = {"Interval": {"Minutes": rng.choice((60, 240, 720, 1440))}}
        else:
            schedule = {"Daily": {"Time": f"2026-01-01T{rng.randint(0, 23):02d}:{rng.choice((0, 30)):02d}:00Z"}}
        capability = store_capability("PEM" if type_id == PEM.id else "JKS", "Inventory").name
        requested = NOW - timedelta(seconds=rng.randint(60, 365 * 86400))
        yield (
            _uuid(rng),
            agent_id,
            inventory_type,
            store_id,
            json.dumps(schedule),
            schedule_type(schedule),
            path,
            requested,
            first_run_at(schedule, NOW),
            capability,
            5,
        )


def _certificates(rng: random.Random, count: int) -> Iterator[tuple[Any, ...]]:
    """Certificates with realistic facts; `content` is a short stand-in (no page reads it)."""
    for number in range(1, count + 1):
        thumbprint = hashlib.sha1(f"{SEED}-{number}".encode()).hexdigest().upper()
        cn = f"host-{number:06d}.example.com"
        not_before = NOW - timedelta(days=rng.randint(1, 800))
        yield (
            number,
            thumbprint,
            f"{rng.getrandbits(128):032X}",
            f"CN={cn},OU=IT,O=Example Corp,C=US",
            cn,
            f"CN=Example Issuing CA {rng.randint(1, 4)},O=Example Corp,C=US",
            not_before,
            not_before + timedelta(days=rng.choice((90, 365, 398, 730))),
            "sha256RSA",
            1,
            rng.choice((2048, 3072, 4096)),
            NOW - timedelta(days=rng.randint(0, 30)),
            "MIIB" + thumbprint,
        )


def _entry_counts(rng: random.Random, stores: int, *, big: int, big_entries: int, entries: int) -> list[int]:
    """How many entries each store holds: `big_entries` for the big one, the rest spread at random over the others."""
    others = [position for position in range(stores) if position != big]
    counts = Counter(rng.choice(others) for _ in range(entries - big_entries))
    return [big_entries if position == big else counts[position] for position in range(stores)]


def _entries(
    rng: random.Random, stores: Sequence[tuple[Any, ...]], per_store: Sequence[int], *, certificates: int
) -> Iterator[tuple[Any, ...]]:
    """Each store's entries in key order (store, alias): distinct certificates per store; a PEM store names an entry
    by its certificate's thumbprint, a JKS store by the host name."""
    for (store_id, _agent, type_id, *_rest), count in zip(stores, per_store, strict=True):
        chosen = rng.sample(range(1, certificates + 1), count)
        if type_id == PEM.id:
            named = [(hashlib.sha1(f"{SEED}-{number}".encode()).hexdigest(), number) for number in chosen]
        else:
            named = [(f"host-{number:06d}", number) for number in chosen]
        for alias, number in sorted(named):
            yield store_id, alias, number, type_id == JKS.id and number % 5 == 0


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


# --- measuring ---------------------------------------------------------------------------------------------------


def page_cases(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each timed page: its orchjobs request (path, parameters), and the service call that runs its SELECT."""
    store = data["big_store"]
    # Page 1000 at the defaults: the middle of the list and of the big store; the middle at any size.
    deep_stores = max(2, min(1000, data["stores"] // PAGE // 2))
    deep_entries = max(2, min(1000, data["big_entries"] // PAGE // 2))
    query = f'ClientMachine -eq "{data["machine"]}"'
    inventory = f"/CertificateStores/{store}/Inventory"

    def stores(page: int, query: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"pq.returnLimit": PAGE, "pq.pageReturned": page}
        if query:
            params["pq.queryString"] = query
        request = PageRequest(query=query, page=page, limit=PAGE)
        return {
            "path": "/CertificateStores",
            "params": params,
            "call": lambda engine: listing.list_page(
                engine, CERTIFICATE_STORES, request, now=NOW, max_query_length=MAX_QUERY_LENGTH
            ),
        }

    def entries(page: int) -> dict[str, Any]:
        request = PageRequest(page=page, limit=PAGE)
        return {
            "path": inventory,
            "params": {"query.returnLimit": PAGE, "query.pageReturned": page},
            "call": lambda engine: certificate_service.store_inventory(engine, store_id=store, request=request),
        }

    return {
        "CertificateStores page 1 (by ClientMachine)": stores(1),
        f"CertificateStores page {deep_stores} (by ClientMachine)": stores(deep_stores),
        f"CertificateStores {query}, page 1": stores(1, query),
        f"Inventory of the big store ({data['big_entries']:,} entries), page 1": entries(1),
        f"Inventory of the big store ({data['big_entries']:,} entries), page {deep_entries}": entries(deep_entries),
    }


def capture(engine: Engine, call: Any) -> tuple[str, Any]:
    """The one SELECT (text and DBAPI parameters) that `call(engine)` sends: the statement the raw baseline runs."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        rows = call(engine)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(rows) == PAGE, len(rows)
    assert len(sent) == 1, sent
    return sent[0]


def explain(raw: RawDatabase, sql: str, params: Any) -> str:
    if raw.kind == "sqlite":
        rows = raw.conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return "\n".join(f"  {row[-1]}" for row in rows)
    rows = raw.conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
    return "\n".join(f"  {row[0]}" for row in rows)


def bare_server(url: str, statements: Path) -> ServerProcess:
    """bench/bare_stores_app.py: bare Starlette running the captured SELECTs (the HTTP floor)."""
    client = httpx.Client(base_url=f"http://127.0.0.1:{_free_port()}", timeout=120)
    env = {"BENCH_DATABASE_URL": url, "BENCH_STATEMENTS": str(statements), "PYTHONPATH": str(Path(__file__).parent)}
    return ServerProcess("bare_stores_app:app", env=env, client=client, probe="/health", factory=False)


def measure(
    raw: RawDatabase,
    server: ServerProcess,
    bare: ServerProcess,
    figures: Figures,
    name: str,
    case: dict[str, Any],
    statement: tuple[str, Any],
    *,
    runs: int,
    budget: float,
) -> None:
    sql, params = statement

    def run_raw() -> None:
        assert len(raw.conn.execute(sql, params).fetchall()) == PAGE

    def run_orchjobs() -> None:
        response = server.client.get(case["path"], params=case["params"])
        assert response.status_code == 200 and len(response.json()) == PAGE, response.text[:300]

    def run_bare() -> None:
        response = bare.client.get("/page", params={"name": name})
        assert response.status_code == 200 and len(response.json()) == PAGE, response.text[:300]

    start = time.perf_counter()
    run_raw()
    run_orchjobs()
    run_bare()
    # A slow page gets fewer runs, so that each measurement takes about `budget` seconds at most (at least 10 runs).
    runs = max(10, min(runs, int(budget / max(time.perf_counter() - start, 1e-6))))
    for _ in range(max(2, min(20, runs // 5))):
        run_raw()
        run_orchjobs()
        run_bare()
    # Interleaved in blocks, so that a burst of load from elsewhere on the machine hits all three alike.
    raw_times: list[float] = []
    http_times: list[float] = []
    bare_times: list[float] = []
    block = max(1, runs // 10)
    done = 0
    while done < runs:
        count = min(block, runs - done)
        raw_times += _timed(run_raw, count)
        http_times += _timed(run_orchjobs, count)
        bare_times += _timed(run_bare, count)
        done += count
    raw_ms, http_ms, bare_ms = (statistics.median(times) * 1000 for times in (raw_times, http_times, bare_times))
    figures.results.append((name + ", vs raw SELECT", f"median of {runs}", raw_ms, http_ms, "ms"))
    figures.results.append(
        (name + ", vs bare Starlette + raw SELECT over HTTP", f"median of {runs}", bare_ms, http_ms, "ms")
    )
    log(f"{figures.database}: {name}: raw {raw_ms:.2f} ms, bare {bare_ms:.2f} ms, orchjobs {http_ms:.2f} ms")


if __name__ == "__main__":
    main()
