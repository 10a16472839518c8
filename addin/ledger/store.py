"""The ledger database: SQLite by default, PostgreSQL for offices that share one (SQLAlchemy Core: one
code path for both). Its structure is versioned in the `ledger_schema` table (see SCHEMA_VERSION and
MIGRATIONS): a ledger made by a newer dtfund is refused, an older one is brought up to date in the same
transaction as the write that finds it.

Entries are append-only and chained: each carries the SHA-256 of its content and the previous entry's
hash (addin.ledger.chain). A batch is written in one transaction, under a lock that serialises writers
(SQLite: BEGIN IMMEDIATE, waiting up to WAIT_SECONDS for another writer; PostgreSQL: a transaction-scoped
advisory lock). Every failure of the database is a LedgerError: one Chinese sentence."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, make_url

from addin.io.output import cannot_write
from addin.ledger.chain import GENESIS, entry_hash, first_broken
from schemas.ledger_balance import PaidBefore, name_key
from schemas.money import ZERO

SCHEMA_VERSION = 1
DEFAULT_FILE = "dtfund-台账.sqlite"
ENVIRONMENT = "DTFUND_LEDGER"
WAIT_SECONDS = 30  # how long a writer waits for another one to finish its batch
ADVISORY_LOCK = 0x647466756E64  # "dtfund": the PostgreSQL advisory lock that serialises writers
PAYMENT, REVERSAL = "payment", "reversal"
FEN = Decimal("0.01")

metadata = sa.MetaData()
ledger_schema = sa.Table(
    "ledger_schema",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)
batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String, nullable=False, unique=True),
    sa.Column("doc", sa.String, nullable=False),
    sa.Column("date", sa.String, nullable=False),
    sa.Column("recorded_at", sa.String, nullable=False),
    sa.Column("consolidation_sha256", sa.String, nullable=False),
    sa.Column("entries", sa.Integer, nullable=False),
)
entries = sa.Table(
    "entries",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.id"), nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("reverses", sa.Integer, sa.ForeignKey("entries.seq"), nullable=True),
    sa.Column("unit", sa.String, nullable=False),
    sa.Column("enterprise", sa.String, nullable=False),
    sa.Column("uscc", sa.String, nullable=True),
    sa.Column("enterprise_key", sa.String, nullable=False, index=True),
    sa.Column("line", sa.String, nullable=False),
    sa.Column("line_name", sa.String, nullable=False),
    sa.Column("source", sa.String, nullable=False),  # a funding source's key in the policy
    sa.Column("amount_fen", sa.BigInteger, nullable=False),  # exact: 元 × 100
    sa.Column("file", sa.String, nullable=False),
    sa.Column("file_sha256", sa.String, nullable=False),
    sa.Column("revision", sa.Integer, nullable=True),
    sa.Column("sheet", sa.String, nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("prev_hash", sa.String, nullable=False),
    sa.Column("hash", sa.String, nullable=False),
)
# version -> what brings a ledger of the version before it up to it (none yet: version 1 is the first)
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}
ENTRY_FIELDS = tuple(c.name for c in entries.columns if c.name not in ("batch_id", "hash"))


class LedgerError(Exception):
    """The ledger cannot be used or written: the message says why, in one Chinese sentence."""


@dataclass(frozen=True)
class Batch:
    name: str
    doc: str
    date: str
    recorded_at: str
    consolidation_sha256: str


def location(given: str | None) -> str:
    """The ledger: `--ledger`, else DTFUND_LEDGER, else DEFAULT_FILE in the current folder."""
    return given or os.environ.get(ENVIRONMENT) or DEFAULT_FILE


def _url(where: str) -> URL:
    """A database URL for a path or URL: postgresql:// URLs use the psycopg (v3) driver."""
    if "://" not in where:
        return URL.create("sqlite", database=str(Path(where).absolute()))
    try:
        url = make_url(where)
    except sa_exc.ArgumentError:
        raise LedgerError(f"台账地址 {where} 无法识别：请给出文件路径或 postgresql:// 地址。") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise LedgerError(f"台账地址 {shown(where)} 不受支持：请给出 SQLite 文件路径或 postgresql:// 地址。")
    return url


def shown(where: str) -> str:
    """A ledger's location as printed: a URL without its password."""
    if "://" not in where:
        return where
    with suppress(sa_exc.ArgumentError):
        return make_url(where).render_as_string(hide_password=True)
    return where


class Ledger:
    """One ledger database (see the module's docstring)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.url = _url(where)
        self.sqlite = self.url.get_backend_name() == "sqlite"
        plain_file = self.sqlite and self.url.database and "uri" not in self.url.query
        self.path = Path(self.url.database) if plain_file else None  # (a file: URI is opened as it says)
        self._engine: Engine | None = None

    @property
    def exists(self) -> bool:
        """False for a SQLite file not yet created (a database server is assumed to exist)."""
        return self.path is None or self.path.exists()

    def _connect(self) -> Engine:
        if self._engine is None:
            if self.sqlite:
                engine = sa.create_engine(
                    self.url, connect_args={"timeout": WAIT_SECONDS}, poolclass=sa.NullPool
                )
                sa.event.listen(engine, "connect", _sqlite_manual_transactions)
                sa.event.listen(engine, "begin", _sqlite_begin)
            else:
                try:
                    import psycopg  # noqa: F401 - the driver of postgresql:// ledgers, an optional dependency
                except ImportError:
                    raise LedgerError(
                        '使用 PostgreSQL 上的台账需要 psycopg：请运行 pip install "dtfund[postgres]" 后重试。'
                    ) from None
                engine = sa.create_engine(
                    self.url, poolclass=sa.NullPool, connect_args={"connect_timeout": 10}
                )
            self._engine = engine
        return self._engine

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Connection]:
        """A transaction: a writing one holds the writers' lock from its start."""
        with self._errors(), self._connect().connect() as conn:
            if write and self.sqlite:
                conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                if write and not self.sqlite:
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(WAIT_SECONDS * 1000)}ms'")
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK)))
                yield conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sa_exc.DBAPIError as error:
            raise LedgerError(self._reason(error)) from None

    def _reason(self, error: sa_exc.DBAPIError) -> str:
        """The failure in one sentence: SQLite by its message, PostgreSQL by its SQLSTATE (its messages
        quote paths, which may hold any word)."""
        name = shown(self.where)
        busy = f"台账 {name} 正被另一个程序占用（已等待 {WAIT_SECONDS} 秒）：请稍后重试。"
        read_only = f"台账 {name} 是只读的，无法写入：请检查文件或数据库的写入权限，台账未被改动。"
        if not self.sqlite:
            state = getattr(error.orig, "sqlstate", None) or ""
            if state == "25006" or state.startswith("42501"):
                return read_only
            if state == "55P03":
                return busy
            if not state or state.startswith("08") or state.startswith("57P"):
                return f"无法连接台账数据库 {name}：请检查地址、网络和数据库服务是否运行。"
            return f"台账数据库 {name} 报告错误（SQLSTATE {state}）：台账未被改动，请联系数据库管理员。"
        text = str(error.orig).lower()
        if "readonly" in text or "read-only" in text:
            return read_only
        if "is locked" in text:
            return busy
        if "not a database" in text or "malformed" in text:
            return f"{name} 不是 dtfund 台账（不是完好的 SQLite 数据库文件）：请检查 --ledger 指定的文件。"
        if "unable to open" in text:
            return f"无法打开台账 {name}：所在的文件夹不存在或没有权限。"
        return f"无法读写台账 {name}：数据库报告错误（{type(error.orig).__name__}），台账未被改动。"

    def _version(self, conn: Connection) -> int | None:
        """The ledger's structure version; None for a database without a ledger yet."""
        if not sa.inspect(conn).has_table("ledger_schema"):
            if sa.inspect(conn).get_table_names():
                raise LedgerError(
                    f"{shown(self.where)} 不是 dtfund 台账（其中已有其他数据表）：请换一个文件或数据库。"
                )
            return None
        version = conn.execute(sa.select(ledger_schema.c.version)).scalar()
        if version is None:
            raise LedgerError(f"台账 {shown(self.where)} 缺少结构版本记录：文件可能已损坏。")
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"台账 {shown(self.where)} 由更新版本的 dtfund 建立（台账结构第 {version} 版，本程序只支持到第 "
                f"{SCHEMA_VERSION} 版）：请升级 dtfund 后再使用这份台账。"
            )
        return version

    def _prepare(self, conn: Connection) -> None:
        """Create the ledger's tables, or bring an older structure up to date (within the transaction)."""
        version = self._version(conn)
        if version is None:
            metadata.create_all(conn)
            conn.execute(ledger_schema.insert().values(id=1, version=SCHEMA_VERSION))
            return
        for step in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[step](conn)
        if version < SCHEMA_VERSION:
            conn.execute(ledger_schema.update().values(version=SCHEMA_VERSION))

    @contextmanager
    def reading(self) -> Iterator[Connection | None]:
        """A read transaction; None for a ledger not yet created (nothing paid)."""
        if not self.exists:
            yield None
            return
        with self._transaction(write=False) as conn:
            yield conn if self._version(conn) is not None else None

    def record(self, batch: Batch, drafts: Callable[[Reader], Sequence[dict[str, Any]]]) -> int:
        """Write one batch in one transaction under the writers' lock: its entries are what `drafts`
        makes of the ledger as it is then (it raises LedgerError to refuse). Returns the number of
        entries written. A SQLite file created here is made 0600 first. It is never removed again, even
        when nothing could be written to it: another `record` may have opened it meanwhile and be
        writing its batch into it (removing the file would lose that batch, and the next consolidation
        would pay it again); an empty file is an empty ledger. A batch without entries is refused:
        every batch holds at least one."""
        self._create_file()
        with self._transaction(write=True) as conn:
            self._prepare(conn)
            if conn.execute(sa.select(batches.c.id).where(batches.c.name == batch.name)).first():
                raise LedgerError(
                    f"批次“{batch.name}”已记入台账 {shown(self.where)}：同一批次不能重复记账，台账未改动。"
                )
            refuse_broken_chain(_entry_rows(conn), self.where)
            written = drafts(Reader(conn))
            if not written:
                raise LedgerError(
                    f"批次“{batch.name}”没有可记入的记录，没有记账，台账未改动：请检查要记账的汇总结果或要冲销的记录。"
                )
            self._append(conn, batch, written)
        return len(written)

    def _append(
        self,
        conn: Connection,
        batch: Batch,
        drafts: Sequence[dict[str, Any]],
    ) -> None:
        batch_id = (conn.execute(sa.select(sa.func.max(batches.c.id))).scalar() or 0) + 1
        conn.execute(batches.insert().values(id=batch_id, entries=len(drafts), **batch.__dict__))
        last = conn.execute(
            sa.select(entries.c.seq, entries.c.hash).order_by(entries.c.seq.desc()).limit(1)
        ).first()
        seq, previous = (last.seq, last.hash) if last else (0, GENESIS)
        written = []
        for draft in drafts:
            seq += 1
            content = {**draft, "seq": seq, "prev_hash": previous}
            previous = entry_hash(content, batch)
            written.append({**content, "batch_id": batch_id, "hash": previous})
        if written:
            conn.execute(entries.insert(), written)

    def _create_file(self) -> bool:
        """Create a missing SQLite file readable and writable by its owner only (0600)."""
        if self.path is None or self.path.exists():
            return False
        try:
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return False
        except OSError as error:
            raise LedgerError(str(cannot_write(self.path, error))) from None
        return True

    def paid_before(self, keys: set[str]) -> PaidBefore:
        """What the ledger holds for these enterprises, and Σ per plan line and source over all of it."""
        with self.reading() as conn:
            return PaidBefore() if conn is None else _paid_before(conn, keys)

    def batch_rows(self) -> list[dict[str, Any]]:
        """Every batch in order, with its entries' Σ (元)."""
        with self.reading() as conn:
            if conn is None:
                return []
            total = sa.func.coalesce(sa.func.sum(entries.c.amount_fen), 0)
            query = (
                sa.select(batches, total.label("amount_fen"))
                .select_from(batches.outerjoin(entries))
                .group_by(*batches.c)
                .order_by(batches.c.id)
            )
            return [{**row._mapping, "amount": yuan(row.amount_fen)} for row in conn.execute(query)]

    def head(self) -> str | None:
        """The last entry's hash (None for an empty ledger): what a later verify can be held to, as the
        chain alone cannot tell that its last entries were taken off whole."""
        with self.reading() as conn:
            if conn is None:
                return None
            return conn.execute(sa.select(entries.c.hash).order_by(entries.c.seq.desc()).limit(1)).scalar()

    def entry_rows(self) -> list[dict[str, Any]]:
        """Every entry in order, with its batch's name, 文号 and date, and its amount in 元."""
        with self.reading() as conn:
            return [] if conn is None else _entry_rows(conn)


def _entry_rows(conn: Connection) -> list[dict[str, Any]]:
    query = (
        sa.select(
            entries,
            batches.c.name.label("batch"),
            batches.c.doc,
            batches.c.date,
            batches.c.entries.label("batch_entries"),
        )
        .join(batches)
        .order_by(entries.c.seq)
    )
    return [{**row._mapping, "amount": yuan(row.amount_fen)} for row in conn.execute(query)]


def refuse_broken_chain(rows: list[dict[str, Any]], where: str) -> None:
    """Nothing is paid against, or written onto, a ledger whose chain does not hold."""
    broken = first_broken(rows)
    if broken is not None:
        raise LedgerError(
            f"台账 {shown(where)} 的第 {broken[0]['seq']} 条记录在记账后被改动过，不能据此拨付或继续记账："
            "请运行 dtfund ledger verify 查明，恢复备份后重试。"
        )


class Reader:
    """What a batch being written may read of the ledger, inside its transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def paid_before(self, keys: set[str]) -> PaidBefore:
        return _paid_before(self.conn, keys)

    def entries(self, seqs: set[int] | None = None, batch: str | None = None) -> list[dict[str, Any]]:
        """Entries by number or by batch name, with `reversed_by` (the entry reversing each, if any)."""
        reversal = entries.alias("reversal")
        query = (
            sa.select(entries, batches.c.name.label("batch"), reversal.c.seq.label("reversed_by"))
            .select_from(
                entries.join(batches, entries.c.batch_id == batches.c.id).outerjoin(
                    reversal, reversal.c.reverses == entries.c.seq
                )
            )
            .order_by(entries.c.seq)
        )
        if seqs is not None:
            query = query.where(entries.c.seq.in_(sorted(seqs)))
        if batch is not None:
            query = query.where(batches.c.name == batch)
        return [dict(row._mapping) for row in self.conn.execute(query)]


def yuan(fen: int) -> Decimal:
    return (Decimal(int(fen)) * FEN).quantize(FEN)


def fen(amount: Decimal) -> int:
    """An amount in 元 (to the cent) as an integer number of 分."""
    cents = amount.quantize(FEN)
    if cents != amount:
        raise ValueError(f"not a whole number of cents: {amount}")
    return int(cents * 100)


def _paid_before(conn: Connection, keys: set[str]) -> PaidBefore:
    """Σ paid per enterprise, line and source and the batches that paid them, for `keys`; Σ per line and
    source over the whole ledger. Each is one grouped query over the ledger, filtered here: a pilot's
    ledger holds a few thousand enterprises, and one query beats thousands of parameters."""
    paid = PaidBefore()
    key, line, source = entries.c.enterprise_key, entries.c.line, entries.c.source
    total = sa.func.sum(entries.c.amount_fen)
    if keys:
        for enterprise, line_key, source_key, fen_total in conn.execute(
            sa.select(key, line, source, total).group_by(key, line, source)
        ):
            if enterprise in keys:
                paid.by_key[(enterprise, line_key, source_key)] = yuan(fen_total)
        named = sa.select(key, batches.c.id, batches.c.name, batches.c.doc).join(batches).distinct()
        for enterprise, _id, name, doc in conn.execute(named.order_by(key, batches.c.id)):
            if enterprise in keys:
                paid.batches.setdefault(enterprise, []).append(f"{name}（{doc}）")
    for line_key, source_key, fen_total in conn.execute(
        sa.select(line, source, total).group_by(line, source)
    ):
        paid.by_line[(line_key, source_key)] = yuan(fen_total)
    unit, name = entries.c.unit, entries.c.enterprise
    for unit_name, enterprise_name, enterprise, fen_total in conn.execute(
        sa.select(unit, name, key, total).group_by(unit, name, key)
    ):
        if fen_total > 0:
            named = paid.by_name.setdefault((unit_name, name_key(enterprise_name)), {})
            named[enterprise] = named.get(enterprise, ZERO) + yuan(fen_total)
    paid.head = conn.execute(sa.select(entries.c.hash).order_by(entries.c.seq.desc()).limit(1)).scalar()
    return paid


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    """pysqlite begins transactions itself, too late to lock: SQLAlchemy's begin event does it instead."""
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Connection) -> None:
    """A writer takes SQLite's write lock at BEGIN (IMMEDIATE), so that two writers queue."""
    immediate = conn.get_execution_options().get("sqlite_immediate")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
