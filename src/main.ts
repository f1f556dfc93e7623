/**
 * `npm start`: the whole product on one machine. With no configuration: SQLite in ./data, the
 * in-process ingest, and demo calls streaming in real time (open http://127.0.0.1:4000/).
 * With KAFKA_BROKERS set: Kafka is the source (see README.md and docs/operations.md).
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { pino } from 'pino';
import { createApp } from './app/app.js';
import { ConfigError, loadConfig } from './app/config.js';
import { loadFixtureCalls } from './app/demo/fixtures.js';
import { runDemo } from './app/demo/player.js';
import { repoRoot } from './app/paths.js';
import { MemorySource } from './ingest/memory-source.js';

/**
 * V8 starts a major GC whenever the old generation's headroom is below the young generation's
 * capacity (64 MB without pointer compression, as Node runs): with the server's ~30 MB live heap
 * and V8's own growing factor (1.3-2.4) that was nearly always, so it marked its whole heap 2-3
 * times a second, a third of its CPU at 50 calls (docs/benchmarks.md, Capacity, "Where the CPU
 * goes"). A fixed factor of 4 leaves that headroom: ~6x fewer major GCs for ~45 MB more RSS.
 * The factor is read at every GC, so setting it here works; a value given to node wins.
 */
const HEAP_GROWING_PERCENT = 300;
if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    // Every bad variable at once (CONFIG_INVALID), then exit 2: nothing has been opened yet.
    if (e instanceof ConfigError) {
      console.error(`sentiment-stream: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  const logger = pino({ level: config.logLevel, base: { service: 'sentiment-stream' } });
  if (!config.kafkaBrokers) logger.info('no KAFKA_BROKERS: in-process ingest (embedded mode)');
  const app = await createApp(config, logger);
  await app.start();

  const demoAbort = new AbortController();
  let demo: Promise<void> = Promise.resolve();
  if (config.demo) {
    if (!(app.source instanceof MemorySource)) throw new Error('DEMO needs the in-process source (unset KAFKA_BROKERS)');
    const source = app.source;
    const fixtures = loadFixtureCalls(join(repoRoot(), 'fixtures', 'calls'));
    logger.info({ calls: config.demoCalls, fixtures: fixtures.length, video: config.demoVideo }, `demo: streaming synthetic calls in real time (${config.demoVideo ? 'with face features' : 'audio-only phone calls; DEMO_VIDEO=on adds face features'})`);
    demo = runDemo({
      fixtures,
      concurrent: config.demoCalls,
      video: config.demoVideo,
      tenant: config.devTenant,
      signal: demoAbort.signal,
      send: (record) => source.push(record),
      onCallStart: (callId, fixtureId) => logger.info({ callId, fixture: fixtureId }, 'demo call started'),
    }).catch((e) => logger.error({ err: e }, 'demo stopped'));
  }
  console.log(`\n  Dashboard:  http://${config.host}:${app.api.httpServer.address() && (app.api.httpServer.address() as { port: number }).port}/\n  GraphQL:    ${app.api.url}  (subscriptions: ${app.api.wsUrl})\n`);
  // Calls also come in over WebSockets (docs/ingest.md).
  console.log(`  Ingest:     ${app.api.wsUrl.replace(/\/graphql$/, '/ingest')}  (/ingest/twilio, /ingest/audiohook; try: npx sentiment-stream send fixtures/call/call.wav)\n`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    demoAbort.abort();
    await demo;
    await app.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((e) => {
  // A configuration that only shows its problem while starting (Kafka mode without the Kafka
  // client, a PEM key that does not import) exits like one caught by loadConfig: 2, one line.
  if (e instanceof ConfigError) {
    console.error(`sentiment-stream: ${e.message}`);
    process.exit(2);
  }
  console.error(e);
  process.exit(1);
});
