/**
 * The deployment ScoreStore: PostgreSQL through a bounded node-postgres pool, versioned
 * migrations (migrate.ts), the same keys, cursors and semantics as the SQLite store (one
 * contract suite, test/store/contract.ts, runs against both).
 *
 * Concurrency: several server instances write at once. putScore locks the call's row
 * (SELECT ... FOR UPDATE) before inserting, so two revisions of one segment stored at the same
 * time still count as one segment; inserts of different calls never wait for each other.
 * Every driver failure is STORE_UNAVAILABLE (retriable); bad input is BAD_REQUEST and bad
 * cursors BAD_CURSOR, before anything reaches the server. `tenant: undefined` means all tenants
 * and is for operators, never for API callers.
 */
import type pg from 'pg';
import { AppError } from '../../core/errors.js';
import type { CallQuery, FenceToken, HistoryQuery, OwnershipStore, Page, ScoreHistory, ScoreStore, SegmentQuery, StaleCall, StoredScore } from '../../core/ports.js';
import type { CallInfo, SegmentScore } from '../../core/types.js';
import { encodeCursor } from '../cursor.js';
import { checkFence, checkPartitionKey, NOT_HELD } from '../fencing.js';
import { checkPageSize, each, page } from '../page.js';
import { CALL_ORDER, callConditions, callSql, historyConditions, SEGMENT_ORDER, segmentConditions, STALE_CALLS_SQL, STORAGE_ORDER } from '../score-sql.js';
import { numbered } from '../sql.js';
import { countRows, pageRows } from './lists.js';
import { checkCall, checkScore, mergeCall } from '../validate.js';
import { migratePostgres } from './migrate.js';
import { POSTGRES_MIGRATIONS } from './migrations/index.js';
import { type PgPoolOptions, inTransaction, openMigratedPool, query } from './pool.js';
import { type PgCallRow, type PgScoreRow, SCORE_COLUMNS, bigintToNumber, pgRowToCall, pgRowToScore, scoreValues } from './rows.js';

export interface PostgresStoreOptions extends PgPoolOptions {
  /** Wall clock for `storedAtMs`, ms since the unix epoch. Default Date.now (tests pass their own). */
  now?: () => number;
  /** How long a partition claim waits on writes in flight under the old epoch before it ends
   *  their sessions, ms. Default 2000. See `claimPartitions`. */
  claimWaitMs?: number;
}

const INSERT_SCORE = `INSERT INTO segment_scores (${SCORE_COLUMNS.join(', ')})
  VALUES (${SCORE_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (tenant, call_id, channel, segment_index, revision) DO NOTHING RETURNING id`;

export class PostgresScoreStore implements ScoreStore, ScoreHistory, OwnershipStore {
  private readonly now: () => number;
  private pool: pg.Pool | null = null;

  constructor(private readonly opts: PostgresStoreOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Opens the pool and applies pending migrations (under an advisory lock). */
  async start(): Promise<void> {
    if (this.pool) return;
    const pool = await openMigratedPool(this.opts, (client) => migratePostgres(client, POSTGRES_MIGRATIONS));
    this.pool = pool;
  }

  async stop(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.end().catch(() => undefined);
  }

  async putScore(score: SegmentScore, fence?: FenceToken): Promise<'inserted' | 'duplicate'> {
    checkScore(score);
    if (fence) checkPartitionKey(fence.partition);
    return inTransaction(this.conn(), async (c) => {
      if (fence) await fenceCheck(c, fence);
      const now = this.now();
      const key = [score.tenant, score.callId];
      // A score can come before (or without) its call's call_start reaching the store.
      await c.query(
        `INSERT INTO calls (tenant, call_id, status, started_at_ms, channels, updated_at_ms, source_partition)
         VALUES ($1, $2, 'ACTIVE', $3, '[]', $4, $5) ON CONFLICT (tenant, call_id) DO NOTHING`,
        [...key, score.startMs, now, fence?.partition ?? null],
      );
      // The call's row lock serialises the scores of one call, so the revision check below sees
      // every score committed before it.
      await c.query('SELECT 1 FROM calls WHERE tenant = $1 AND call_id = $2 FOR UPDATE', key);
      const inserted = await c.query(INSERT_SCORE, scoreValues(score, now));
      if (inserted.rowCount === 0) return 'duplicate';
      await c.query(
        `UPDATE calls SET
           segment_count = segment_count + CASE WHEN EXISTS (SELECT 1 FROM segment_scores WHERE tenant = $1 AND call_id = $2
             AND channel = $3 AND segment_index = $4 AND revision <> $5) THEN 0 ELSE 1 END,
           channels = CASE WHEN channels ? $3 THEN channels ELSE channels || jsonb_build_array($3::text) END,
           started_at_ms = LEAST(started_at_ms, $6), updated_at_ms = $7, source_partition = COALESCE($8, source_partition)
         WHERE tenant = $1 AND call_id = $2`,
        [...key, score.channel, score.segmentIndex, score.revision, score.startMs, now, fence?.partition ?? null],
      );
      return 'inserted';
    });
  }

  async upsertCall(call: CallInfo, fence?: FenceToken): Promise<void> {
    checkCall(call);
    if (fence) checkPartitionKey(fence.partition);
    const values = (c: CallInfo) => [c.tenant, c.callId, c.status, c.startedAtMs, c.endedAtMs, JSON.stringify(c.channels), c.segmentCount, JSON.stringify(c.meta), this.now(), fence?.partition ?? null, c.displayName ?? null];
    await inTransaction(this.conn(), async (c) => {
      if (fence) await fenceCheck(c, fence);
      const fresh = await c.query(
        `INSERT INTO calls (tenant, call_id, status, started_at_ms, ended_at_ms, channels, segment_count, meta, updated_at_ms, source_partition, display_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (tenant, call_id) DO NOTHING RETURNING 1`,
        values(call),
      );
      if (fresh.rowCount === 1) return;
      const prev = (await c.query<PgCallRow>('SELECT * FROM calls WHERE tenant = $1 AND call_id = $2 FOR UPDATE', [call.tenant, call.callId])).rows[0];
      // Merge so replays and out-of-order updates never move a call backwards (as SQLite does).
      const merged = mergeCall(pgRowToCall(prev), call);
      await c.query(
        `UPDATE calls SET status = $3, started_at_ms = $4, ended_at_ms = $5, channels = $6, segment_count = $7, meta = $8, updated_at_ms = $9,
           source_partition = COALESCE($10, source_partition), display_name = $11
         WHERE tenant = $1 AND call_id = $2`,
        values(merged),
      );
    });
  }

  /** Sessions a claim ended because they held an old epoch too long (see claimPartitions). */
  stalledWritersEnded = 0;

  /**
   * Claims (OwnershipStore). The epoch row's lock makes a claim wait for writes in flight under
   * the old epoch; but a previous owner that was paused mid-write (GC, frozen VM, SIGSTOP) keeps
   * its transaction, and that lock, open for as long as it is paused. So after `claimWaitMs` the
   * claim ends the sessions blocking it (pg_terminate_backend): their transactions roll back
   * (nothing of them was committed; the new owner re-reads those chunks), and their owner's
   * retry, in a new session, is refused STORE_FENCED. All instances connect as one role, which
   * may signal its own sessions.
   */
  async claimPartitions(owner: string, claims: { partition: string; held?: number }[]): Promise<Map<string, number>> {
    for (const c of claims) checkPartitionKey(c.partition);
    return inTransaction(this.conn(), async (c) => {
      const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      // The claim's row lock is freed the moment a blocker is ended, often before endBlockers'
      // own query returns: wait for those in flight so the count is complete when the claim is.
      const inFlight = new Set<Promise<void>>();
      const breaker = setInterval(() => {
        const p = this.endBlockers(pid).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }, this.opts.claimWaitMs ?? 2000);
      try {
        return await this.claimRows(c, owner, claims);
      } finally {
        clearInterval(breaker);
        await Promise.all(inFlight);
      }
    });
  }

  /** Ends the sessions that block session `pid` (a claim waiting on an old epoch's writers). */
  private async endBlockers(pid: number): Promise<void> {
    try {
      const ended = await query<{ pid: number }>(this.conn(), 'SELECT b AS pid FROM unnest(pg_blocking_pids($1)) AS b WHERE pg_terminate_backend(b)', [pid]);
      this.stalledWritersEnded += ended.length;
    } catch {
      // the claim goes on waiting (and fails at statement_timeout, then is retried)
    }
  }

  private async claimRows(c: pg.PoolClient, owner: string, claims: { partition: string; held?: number }[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    // Sorted: two owners claiming overlapping sets lock their rows in one order (no deadlock).
    for (const claim of [...claims].sort((a, b) => (a.partition < b.partition ? -1 : a.partition > b.partition ? 1 : 0))) {
      // The row lock of the upsert waits for writes holding the old epoch (FOR SHARE in
      // fenceCheck) to finish: a write is either wholly before the claim or refused after it.
      const { rows } = await c.query<{ epoch: number }>(
        `INSERT INTO partition_owners (partition, epoch, owner, claimed_at_ms) VALUES ($1, 1, $2, $3)
         ON CONFLICT (partition) DO UPDATE SET
           epoch = CASE WHEN partition_owners.epoch = $4 AND partition_owners.owner = excluded.owner
             THEN partition_owners.epoch ELSE partition_owners.epoch + 1 END,
           owner = excluded.owner, claimed_at_ms = excluded.claimed_at_ms
         RETURNING epoch`,
        [claim.partition, owner, this.now(), claim.held ?? NOT_HELD],
      );
      out.set(claim.partition, rows[0].epoch);
    }
    return out;
  }

  async partitionEpochs(partitions: string[]): Promise<Map<string, number>> {
    const rows = await query<{ partition: string; epoch: number }>(this.conn(), 'SELECT partition, epoch FROM partition_owners WHERE partition = ANY($1::text[])', [partitions]);
    return new Map(rows.map((r) => [r.partition, r.epoch]));
  }

  async staleActiveCalls(partition: string, updatedBeforeMs: number, limit: number): Promise<StaleCall[]> {
    const first = checkPageSize(limit);
    const rows = await query<PgCallRow & { last_end: number | null }>(this.conn(), numbered(STALE_CALLS_SQL), [partition, updatedBeforeMs, first]);
    return rows.map((r) => ({ call: pgRowToCall(r), lastEndMs: r.last_end }));
  }

  async getCall(callId: string, tenant?: string): Promise<CallInfo | null> {
    const rows = await query<PgCallRow>(this.conn(), numbered(callSql(tenant !== undefined)), tenant === undefined ? [callId] : [callId, tenant]);
    return rows[0] ? pgRowToCall(rows[0]) : null;
  }

  async listCalls(q: CallQuery): Promise<Page<CallInfo>> {
    const first = checkPageSize(q.first);
    const c = callConditions(q);
    const pool = this.conn();
    const total = await countRows(pool, 'calls', c.filter);
    const rows = await pageRows<PgCallRow>(pool, '*', 'calls', c, CALL_ORDER, first);
    return page(rows, first, total, each(pgRowToCall), (r) => encodeCursor('call', [r.started_at_ms, r.tenant, r.call_id]));
  }

  async getSegments(q: SegmentQuery): Promise<Page<SegmentScore>> {
    const first = checkPageSize(q.first);
    const c = segmentConditions(q);
    const pool = this.conn();
    const total = await countRows(pool, 'segment_scores s', c.filter);
    const rows = await pageRows<PgScoreRow>(pool, 's.*', 'segment_scores s', c, SEGMENT_ORDER, first);
    return page(rows, first, total, each(pgRowToScore), (r) => encodeCursor('seg', [r.start_ms, r.channel, r.segment_index, r.revision]));
  }

  async scoresSince(q: HistoryQuery): Promise<Page<StoredScore>> {
    const first = checkPageSize(q.first);
    const filter = historyConditions(q);
    const pool = this.conn();
    const total = await countRows(pool, 'segment_scores', filter);
    const rows = await pageRows<PgScoreRow>(pool, '*', 'segment_scores', { filter, after: null }, STORAGE_ORDER, first);
    return page(
      rows, first, total,
      each((r: PgScoreRow) => ({ score: pgRowToScore(r), storedAtMs: bigintToNumber(r.stored_at_ms) })),
      (r) => encodeCursor('since', [bigintToNumber(r.stored_at_ms), bigintToNumber(r.id)]),
    );
  }

  private conn(): pg.Pool {
    if (!this.pool) throw new AppError('STORE_UNAVAILABLE', { reason: 'store is not started' });
    return this.pool;
  }
}

/**
 * Inside a write transaction: STORE_FENCED unless the token's epoch is its partition's current
 * one. FOR SHARE keeps the epoch from moving until this write commits (a claim's upsert waits),
 * while writes of one owner under the same epoch never wait for each other.
 */
async function fenceCheck(c: pg.PoolClient, fence: FenceToken): Promise<void> {
  const { rows } = await c.query<{ epoch: number }>('SELECT epoch FROM partition_owners WHERE partition = $1 FOR SHARE', [fence.partition]);
  checkFence(fence, rows[0]?.epoch);
}
