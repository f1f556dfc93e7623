/**
 * The embedded ScoreStore: SQLite through better-sqlite3, WAL journal, versioned migrations.
 *
 * better-sqlite3 is synchronous; a score insert is one short transaction (tens of µs with
 * WAL + synchronous=NORMAL), so it runs on the event loop instead of paying a thread hop.
 * Every driver failure surfaces as STORE_UNAVAILABLE; bad input as BAD_REQUEST; bad cursors as
 * BAD_CURSOR. Keys start with tenant, and every query filters on the tenant it is given
 * (`tenant: undefined` means all tenants and is for operators, never for API callers).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../core/errors.js';
import type { CallQuery, FenceToken, HistoryQuery, OwnershipStore, Page, ScoreHistory, ScoreStore, SegmentQuery, StaleCall, StoredScore } from '../core/ports.js';
import type { CallInfo, SegmentScore } from '../core/types.js';
import { encodeCursor } from './cursor.js';
import { checkFence, checkPartitionKey, NOT_HELD } from './fencing.js';
import { migrateSqlite } from './migrate-sqlite.js';
import { guardSqlite } from './sqlite-guard.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite/index.js';
import { type CallRow, type ScoreRow, rowToCall, rowToScore, scoreParams } from './sqlite-rows.js';
import { checkPageSize, each, page } from './page.js';
import { CALL_ORDER, callConditions, callSql, historyConditions, SEGMENT_ORDER, segmentConditions, STALE_CALLS_SQL, STORAGE_ORDER } from './score-sql.js';
import { type Condition, countQuery, type ListConditions, pageQuery } from './sql.js';
import { checkCall, checkScore, mergeCall } from './validate.js';

export interface SqliteStoreOptions {
  /** Database file; its folder is created. ':memory:' for tests. Default './data/scores.db'. */
  path?: string;
  /** How long a write waits for another process's lock, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /** Wall clock for `storedAtMs`, ms since the unix epoch. Default Date.now (tests pass their own). */
  now?: () => number;
}

/** Default database file of the embedded product. */
export const DEFAULT_SQLITE_PATH = './data/scores.db';

type Params = unknown[];

export class SqliteScoreStore implements ScoreStore, ScoreHistory, OwnershipStore {
  readonly path: string;
  private readonly busyTimeoutMs: number;
  private readonly now: () => number;
  private db: Database.Database | null = null;
  /** Prepared statements by SQL text; queries are built from a few fixed shapes, so this stays small. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(opts: SqliteStoreOptions = {}) {
    this.path = opts.path ?? DEFAULT_SQLITE_PATH;
    this.busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
    this.now = opts.now ?? Date.now;
  }

  async start(): Promise<void> {
    if (this.db) return;
    // Processes starting together on one file (two instances on a shared volume) meet in the
    // WAL switch and the first migration. SQLite answers SQLITE_BUSY at once, without the busy
    // handler, where waiting could deadlock (a reader upgrading to writer); that is retried here
    // from a fresh connection until busyTimeoutMs has passed. Other failures are not retried.
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        this.db = this.guard(() => this.connect());
        return;
      } catch (e) {
        if (!isBusy(e) || Date.now() >= deadline) throw e;
        await new Promise((r) => setTimeout(r, Math.min(20 * attempt, 200)));
      }
    }
  }

  /** A connection with WAL on and every migration applied. */
  private connect(): Database.Database {
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
    const db = new Database(this.path);
    try {
      // busy_timeout first: switching to WAL takes the write lock, and a process starting
      // beside another one should wait for it where SQLite lets it
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.busyTimeoutMs))}`);
      db.pragma('journal_mode = WAL');
      // NORMAL under WAL loses at most the last transactions on power loss, never corrupts;
      // Kafka offsets are committed after the store returns, so lost rows are re-delivered.
      db.pragma('synchronous = NORMAL');
      migrateSqlite(db, SQLITE_MIGRATIONS);
    } catch (e) {
      db.close();
      throw e;
    }
    return db;
  }

  async stop(): Promise<void> {
    const db = this.db;
    this.db = null;
    this.statements.clear();
    if (db) this.guard(() => db.close());
  }

  async putScore(score: SegmentScore, fence?: FenceToken): Promise<'inserted' | 'duplicate'> {
    checkScore(score);
    if (fence) checkPartitionKey(fence.partition);
    // IMMEDIATE: the write lock from the start, so the fence read and the writes see one state.
    return this.guard(() =>
      this.conn().transaction((): 'inserted' | 'duplicate' => {
        if (fence) this.checkFence(fence);
        const now = this.now();
        // A score can come before (or without) its call's call_start reaching the store.
        this.run(
          `INSERT INTO calls (tenant, call_id, status, started_at_ms, channels, updated_at_ms, source_partition)
           VALUES (?, ?, 'ACTIVE', ?, '[]', ?, ?) ON CONFLICT (tenant, call_id) DO NOTHING`,
          [score.tenant, score.callId, score.startMs, now, fence?.partition ?? null],
        );
        const res = this.stmt(
          `INSERT INTO segment_scores (tenant, call_id, channel, segment_index, revision, start_ms, end_ms, valence, label,
             confidence, text_missing, mod_text, mod_audio, mod_video, w_text, w_audio, w_video, text, model_version,
             execution_provider, scored_at, stored_at_ms, text_source, recognised_text, utterance_ids, talk)
           VALUES (@tenant, @call_id, @channel, @segment_index, @revision, @start_ms, @end_ms, @valence, @label,
             @confidence, @text_missing, @mod_text, @mod_audio, @mod_video, @w_text, @w_audio, @w_video, @text, @model_version,
             @execution_provider, @scored_at, @stored_at_ms, @text_source, @recognised_text, @utterance_ids, @talk)
           ON CONFLICT (tenant, call_id, channel, segment_index, revision) DO NOTHING`,
        ).run(scoreParams(score, now));
        if (res.changes === 0) return 'duplicate';
        const otherRevision = this.get(
          `SELECT 1 AS x FROM segment_scores WHERE tenant = ? AND call_id = ? AND channel = ? AND segment_index = ? AND revision <> ? LIMIT 1`,
          [score.tenant, score.callId, score.channel, score.segmentIndex, score.revision],
        );
        const call = this.get<CallRow>('SELECT * FROM calls WHERE tenant = ? AND call_id = ?', [score.tenant, score.callId])!;
        const channels = JSON.parse(call.channels) as string[];
        if (!channels.includes(score.channel)) channels.push(score.channel);
        this.run(
          `UPDATE calls SET segment_count = segment_count + ?, channels = ?, started_at_ms = MIN(started_at_ms, ?), updated_at_ms = ?,
             source_partition = COALESCE(?, source_partition)
           WHERE tenant = ? AND call_id = ?`,
          [otherRevision ? 0 : 1, JSON.stringify(channels), score.startMs, now, fence?.partition ?? null, score.tenant, score.callId],
        );
        return 'inserted';
      }).immediate(),
    );
  }

  async upsertCall(call: CallInfo, fence?: FenceToken): Promise<void> {
    checkCall(call);
    if (fence) checkPartitionKey(fence.partition);
    this.guard(() =>
      this.conn().transaction(() => {
        if (fence) this.checkFence(fence);
        const prev = this.get<CallRow>('SELECT * FROM calls WHERE tenant = ? AND call_id = ?', [call.tenant, call.callId]);
        // Merge so replays and out-of-order updates never move a call backwards.
        const merged = prev ? mergeCall(rowToCall(prev), call) : call;
        this.run(
          `INSERT INTO calls (tenant, call_id, status, started_at_ms, ended_at_ms, channels, segment_count, meta, updated_at_ms, source_partition, display_name)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (tenant, call_id) DO UPDATE SET status = excluded.status, started_at_ms = excluded.started_at_ms,
             ended_at_ms = excluded.ended_at_ms, channels = excluded.channels, segment_count = excluded.segment_count,
             meta = excluded.meta, updated_at_ms = excluded.updated_at_ms, display_name = excluded.display_name,
             source_partition = COALESCE(excluded.source_partition, calls.source_partition)`,
          [merged.tenant, merged.callId, merged.status, merged.startedAtMs, merged.endedAtMs,
            JSON.stringify(merged.channels), merged.segmentCount, JSON.stringify(merged.meta), this.now(), fence?.partition ?? null,
            merged.displayName ?? null],
        );
      }).immediate(),
    );
  }

  async claimPartitions(owner: string, claims: { partition: string; held?: number }[]): Promise<Map<string, number>> {
    for (const c of claims) checkPartitionKey(c.partition);
    return this.guard(() =>
      this.conn().transaction(() => {
        const out = new Map<string, number>();
        for (const c of claims) {
          // Keep the epoch only for the owner that still holds it; anyone else fences it.
          const row = this.get<{ epoch: number }>(
            `INSERT INTO partition_owners (partition, epoch, owner, claimed_at_ms) VALUES (?, 1, ?, ?)
             ON CONFLICT (partition) DO UPDATE SET
               epoch = CASE WHEN partition_owners.epoch = ? AND partition_owners.owner = excluded.owner
                 THEN partition_owners.epoch ELSE partition_owners.epoch + 1 END,
               owner = excluded.owner, claimed_at_ms = excluded.claimed_at_ms
             RETURNING epoch`,
            [c.partition, owner, this.now(), c.held ?? NOT_HELD],
          )!;
          out.set(c.partition, row.epoch);
        }
        return out;
      }).immediate(),
    );
  }

  async partitionEpochs(partitions: string[]): Promise<Map<string, number>> {
    return this.guard(() => {
      const out = new Map<string, number>();
      for (const p of partitions) {
        const row = this.get<{ epoch: number }>('SELECT epoch FROM partition_owners WHERE partition = ?', [p]);
        if (row) out.set(p, row.epoch);
      }
      return out;
    });
  }

  async staleActiveCalls(partition: string, updatedBeforeMs: number, limit: number): Promise<StaleCall[]> {
    const first = checkPageSize(limit);
    return this.guard(() =>
      this.all<CallRow & { last_end: number | null }>(STALE_CALLS_SQL, [partition, updatedBeforeMs, first]).map((r) => ({ call: rowToCall(r), lastEndMs: r.last_end })),
    );
  }

  /** Inside a write transaction: STORE_FENCED unless the token's epoch is its partition's current one. */
  private checkFence(fence: FenceToken): void {
    checkFence(fence, this.get<{ epoch: number }>('SELECT epoch FROM partition_owners WHERE partition = ?', [fence.partition])?.epoch);
  }

  async getCall(callId: string, tenant?: string): Promise<CallInfo | null> {
    return this.guard(() => {
      const row = this.get<CallRow>(callSql(tenant !== undefined), tenant === undefined ? [callId] : [callId, tenant]);
      return row ? rowToCall(row) : null;
    });
  }

  async listCalls(q: CallQuery): Promise<Page<CallInfo>> {
    const first = checkPageSize(q.first);
    const c = callConditions(q);
    return this.guard(() => {
      const rows = this.list<CallRow>('*', 'calls', c, CALL_ORDER, first);
      return page(rows, first, this.count('calls', c.filter), each(rowToCall), (r) => encodeCursor('call', [r.started_at_ms, r.tenant, r.call_id]));
    });
  }

  async getSegments(q: SegmentQuery): Promise<Page<SegmentScore>> {
    const first = checkPageSize(q.first);
    const c = segmentConditions(q);
    return this.guard(() => {
      const rows = this.list<ScoreRow>('s.*', 'segment_scores s', c, SEGMENT_ORDER, first);
      return page(rows, first, this.count('segment_scores s', c.filter), each(rowToScore), (r) => encodeCursor('seg', [r.start_ms, r.channel, r.segment_index, r.revision]));
    });
  }

  async scoresSince(q: HistoryQuery): Promise<Page<StoredScore>> {
    const first = checkPageSize(q.first);
    const filter = historyConditions(q);
    return this.guard(() => {
      const rows = this.list<ScoreRow>('*', 'segment_scores', { filter, after: null }, STORAGE_ORDER, first);
      return page(rows, first, this.count('segment_scores', filter), each((r) => ({ score: rowToScore(r), storedAtMs: r.stored_at_ms })), (r) => encodeCursor('since', [r.stored_at_ms, r.id]));
    });
  }

  private conn(): Database.Database {
    if (!this.db) throw new AppError('STORE_UNAVAILABLE', { reason: 'store is not started' });
    return this.db;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.conn().prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private run(sql: string, params: Params): void {
    this.stmt(sql).run(...params);
  }

  private get<T>(sql: string, params: Params): T | undefined {
    return this.stmt(sql).get(...params) as T | undefined;
  }

  private all<T>(sql: string, params: Params): T[] {
    return this.stmt(sql).all(...params) as T[];
  }

  /** `first + 1` rows after the list's position, in `order`. */
  private list<T>(what: string, from: string, c: ListConditions, order: string, first: number): T[] {
    return this.all<T>(...pageQuery(what, from, c, order, first));
  }

  private count(from: string, filter: Condition[]): number {
    return this.get<{ n: number }>(...countQuery(from, filter))!.n;
  }

  /** Runs driver work (guardSqlite: driver failures become STORE_UNAVAILABLE). */
  private guard<T>(fn: () => T): T {
    return guardSqlite(fn);
  }
}

/** A STORE_UNAVAILABLE whose driver cause is SQLITE_BUSY / SQLITE_LOCKED (another connection's lock). */
function isBusy(e: unknown): boolean {
  const code = (e as { cause?: { code?: unknown } })?.cause?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
}
