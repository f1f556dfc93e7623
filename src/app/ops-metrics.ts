/**
 * Operator metrics read from the parts at scrape time (prom-client `collect`), next to the
 * data-path counters of metrics.ts: subscribers and fan-out counts (hub), the execution provider
 * that runs (a gauge set to 1 with the provider as a label), scores-topic traffic, and consumer
 * lag per partition (sampled by src/kafka/lag.ts, set here).
 */
import { Gauge, type Registry } from 'prom-client';
import type { ScorerInfo } from '../core/ports.js';
import type { BridgeStats } from '../publish/scores-bridge.js';
import type { PartitionLag } from '../kafka/lag.js';
import type { HubStats } from '../publish/hub.js';
import type { MultiplexStats } from '../graphql/multiplex.js';

export interface OpsSources {
  hub: () => HubStats;
  scorer: () => ScorerInfo;
  /** Scoring workers chosen at start (SCORER_WORKERS, or `auto`'s choice). */
  scorerWorkers?: number;
  bridge?: () => BridgeStats | null;
  /** The Kafka chunk source's recoveries: batches re-read after the sink failed on them. */
  chunkConsumerRestarts?: () => number;
  /** The API's shared subscription fan-out (src/graphql/multiplex.ts). */
  fanOut?: () => MultiplexStats;
}

export interface OpsMetrics {
  /** Sets the lag gauge from one sample (partitions not in the sample keep their last value). */
  setLag(lags: PartitionLag[]): void;
}

export function registerOpsMetrics(registry: Registry, src: OpsSources): OpsMetrics {
  const r = [registry];
  new Gauge({
    name: 'subscribers', help: 'Hub subscriptions on this instance (scores and calls): one per shared group (subscription_fan_out{kind="groups"}) and one per operation running alone (resume)', registers: r,
    collect() { this.set(src.hub().subscribers); },
  });
  new Gauge({
    name: 'hub_events', help: 'Fan-out counts since start, by kind (published, duplicates_dropped, delivered, dropped_oldest, closed_too_slow)', labelNames: ['kind'], registers: r,
    collect() {
      const s = src.hub();
      this.set({ kind: 'scores_published' }, s.scoresPublished);
      this.set({ kind: 'calls_published' }, s.callsPublished);
      this.set({ kind: 'duplicates_dropped' }, s.duplicatesDropped);
      this.set({ kind: 'delivered' }, s.delivered);
      this.set({ kind: 'dropped_oldest' }, s.droppedOldest);
      this.set({ kind: 'closed_too_slow' }, s.closedTooSlow);
    },
  });
  new Gauge({
    name: 'execution_provider', help: 'The execution provider scoring now: 1 while its workers run, 0 when none does (labels provider, model)', labelNames: ['provider', 'model'], registers: r,
    collect() {
      this.reset();
      try {
        const info = src.scorer();
        this.set({ provider: info.executionProvider, model: info.modelVersion }, info.workers > 0 ? 1 : 0);
      } catch {
        // scorer not started yet: no sample
      }
    },
  });
  if (src.scorerWorkers !== undefined) {
    const chosen = src.scorerWorkers;
    new Gauge({
      name: 'scorer_workers', help: 'Scoring worker threads: chosen at start (SCORER_WORKERS or auto, state="chosen") and running now (state="live"; fewer while a crashed one is replaced)', labelNames: ['state'], registers: r,
      collect() {
        this.set({ state: 'chosen' }, chosen);
        try {
          this.set({ state: 'live' }, src.scorer().workers);
        } catch {
          // scorer not started yet: no live sample
        }
      },
    });
  }
  if (src.fanOut) {
    const fanOut = src.fanOut;
    new Gauge({
      name: 'subscription_fan_out', help: 'Shared subscription execution, by kind: groups and members open now; executions, delivered, dropped_oldest, closed_too_slow since start', labelNames: ['kind'], registers: r,
      collect() {
        const s = fanOut();
        this.set({ kind: 'groups' }, s.groups);
        this.set({ kind: 'members' }, s.members);
        this.set({ kind: 'executions' }, s.executions);
        this.set({ kind: 'delivered' }, s.delivered);
        this.set({ kind: 'dropped_oldest' }, s.droppedOldest);
        this.set({ kind: 'closed_too_slow' }, s.closedTooSlow);
      },
    });
  }
  if (src.chunkConsumerRestarts) {
    const restarts = src.chunkConsumerRestarts;
    new Gauge({
      name: 'chunk_consumer_restarts', help: 'Chunk consumer recoveries since start: batches re-read after a backoff because the sink failed on them (the consumer itself never stops)', registers: r,
      collect() { this.set(restarts()); },
    });
  }
  if (src.bridge) {
    const bridge = src.bridge;
    new Gauge({
      name: 'scores_topic', help: 'Scores-topic bridge counts since start, by kind (produced, produce_errors, consumed, own_skipped, malformed, alert_repeats, consumer_restarts, outbox_depth)', labelNames: ['kind'], registers: r,
      collect() {
        const s = bridge();
        if (!s) return;
        this.set({ kind: 'produced' }, s.produced);
        this.set({ kind: 'produce_errors' }, s.produceErrors);
        this.set({ kind: 'consumed' }, s.consumed);
        this.set({ kind: 'own_skipped' }, s.ownSkipped);
        this.set({ kind: 'malformed' }, s.malformed);
        this.set({ kind: 'alert_repeats' }, s.alertRepeats);
        this.set({ kind: 'consumer_restarts' }, s.consumerRestarts);
        this.set({ kind: 'outbox_depth' }, s.outboxDepth);
      },
    });
  }
  const lag = new Gauge({ name: 'consumer_lag', help: 'Chunk records not yet committed by the consumer group, per partition (sampled)', labelNames: ['topic', 'partition'], registers: r });
  return {
    setLag(lags) {
      for (const l of lags) lag.set({ topic: l.topic, partition: String(l.partition) }, l.lag);
    },
  };
}
