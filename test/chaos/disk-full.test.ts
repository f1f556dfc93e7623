/**
 * Chaos drill: the disk fills up under the store (issue #13, finding 8: /readyz stayed ready
 * while every store write failed). One server process keeps its SQLite files on a 16 MiB tmpfs
 * mounted for the test (root only; the drill is skipped loudly elsewhere and fails in CI). Once
 * scores are being stored, a filler file takes every free byte; the rest of the calls is sent.
 * Then: writes fail (SQLITE_FULL, retried), /readyz answers 503 naming the failing writes, and
 * nothing is committed past them. The filler is removed: every call ends, every segment is
 * stored exactly once with contiguous indices, and /readyz is 200 again.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { freshGroupId, freshTopic, testKafka } from '../support/kafka.js';
import { audit, connectProducer, type Instance, metricSum, prerequisites, scrape, scriptCalls, sendChunks, serverEnv, slice, startInstance, stopInstances, tempDir, until } from '../fault/harness.js';

/** A tmpfs of `mib` MiB at a fresh folder; null (skipped loudly, or failing in CI) where mount is not allowed. */
function tinyDisk(t: TestContext, dir: string, mib: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch (e) {
    if (process.env.CI === 'true') throw new Error(`cannot mount a tmpfs for the disk-full drill (CI=true): ${String(e)}`);
    console.warn(`!! SKIPPING disk-full drill: cannot mount a tmpfs (${String(e).split('\n')[0]})`);
    t.skip('cannot mount a tmpfs');
    return false;
  }
}

/** Writes zeros to `path` until the device is full; returns the bytes written. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, block);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  return written;
}

async function readyz(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url.replace(/\/graphql$/, '/readyz'));
    return { status: res.status, body: await res.text() };
  } catch (e) {
    return { status: 0, body: String(e) };
  }
}

test('disk full under the SQLite store: writes fail, /readyz says so, nothing is lost once space returns', { timeout: 300_000 }, async (t) => {
  const brokers = await prerequisites(t);
  if (!brokers) return;
  const tmp = tempDir('chaos-disk');
  const disk = join(tmp.dir, 'disk');
  mkdirSync(disk);
  if (!tinyDisk(t, disk, 16)) return tmp.cleanup();
  const kafka = testKafka('chaos-disk');
  const topic = await freshTopic('chaos-disk', 2, {}, kafka);
  const dbPath = join(disk, 'scores.db');
  const env = serverEnv({ brokers, topic, group: freshGroupId('chaos-disk'), dbPath });
  const calls = scriptCalls(4, 'disk');
  const ids = calls.map((c) => c.callId);
  const instances: Instance[] = [];
  const producer = await connectProducer(kafka);
  const filler = join(disk, 'filler');
  try {
    const inst = await startInstance('disk', env);
    instances.push(inst);
    await until(async () => (await readyz(inst.url)).status === 200, 60_000, 'ready');
    for (const c of calls) await sendChunks(producer, topic, slice(c, 0, 0.3));
    await until(() => audit(dbPath, ids).rows >= 4, 120_000, 'some scores stored');
    const fullBytes = fill(filler);
    const fullAt = Date.now();
    const rowsAtFull = audit(dbPath, ids).rows;
    for (const c of calls) await sendChunks(producer, topic, slice(c, 0.3, 1));
    let notReady = { status: 0, body: '' };
    await until(async () => (notReady = await readyz(inst.url)).status === 503 && notReady.body.includes('store writes failing'), 120_000, '/readyz reports failing writes');
    const notReadyAfterMs = Date.now() - fullAt;
    const failedWrites = metricSum(await scrape(inst.url), 'store_errors_total');
    const rowsWhileFull = audit(dbPath, ids).rows;
    rmSync(filler);
    const freedAt = Date.now();
    await until(() => audit(dbPath, ids).ended === ids.length, 180_000, 'every call ENDED after space returned');
    await until(async () => (await readyz(inst.url)).status === 200, 60_000, 'ready again');
    const a = audit(dbPath, ids);
    const figures = { calls: ids.length, fullBytes, rowsAtFull, rowsWhileFull, failedWrites, notReadyAfterMs, recoveredAfterMs: Date.now() - freedAt, rows: a.rows, ended: a.ended, keysRepeated: a.keysRepeated, indexGaps: a.indexGaps.length, sealedNotStored: a.sealedNotStored.length, reason: (JSON.parse(notReady.body) as { notReady: string[] }).notReady };
    console.log(`disk-full drill: ${JSON.stringify(figures)}`);
    assert.ok(failedWrites > 0, 'writes failed while the disk was full');
    assert.equal(a.keysRepeated, 0, 'one row per key');
    assert.deepEqual(a.indexGaps, [], 'indices 0..n-1 on every channel: nothing lost');
    assert.deepEqual(a.overlaps, [], 'no media counted twice');
    assert.deepEqual(a.sealedNotStored, [], 'every sealed segment stored');
  } finally {
    await producer.disconnect();
    await stopInstances(instances);
    try {
      execFileSync('umount', ['-l', disk], { stdio: 'pipe' });
    } catch {
      // not mounted
    }
    tmp.cleanup();
  }
});
