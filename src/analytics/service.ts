/**
 * The analytics stage as the pipeline sees it: after each stored score, `onScored` runs the
 * alert engine, keeps the call's stored summary current, stores new alerts (idempotent) and
 * publishes the ones that were new. Work is serialised per call, so two scores of one call never
 * race on its summary. A call is (tenant, callId) everywhere: call ids are unique only within a
 * tenant.
 *
 * After a restart the engine holds nothing: the first score of a call it does not know (other
 * than segment 0, revision 0) reloads the call's stored scores and alerts first, so rules that
 * span segments keep working and nothing is raised twice.
 */
import { KeyedSerial } from '../core/keyed-serial.js';
import type { Logger } from 'pino';
import type { AlertStore, ScoreStore } from '../core/ports.js';
import type { SegmentScore } from '../core/types.js';
import { type Alert, callKey } from './alert.js';
import { AlertEngine, type AlertEngineOptions } from './engine.js';
import type { AlertHub } from './hub.js';
import { type AlertRules, type AlertRulesPatch, DEFAULT_RULES, mergeRules } from './rules.js';
import { callAnalytics } from './stats.js';

export interface AnalyticsServiceOptions {
  alertStore: AlertStore;
  hub: AlertHub;
  /** Used to reload a call's history after a restart; without it, history starts fresh. */
  scoreStore?: ScoreStore;
  logger?: Pick<Logger, 'warn' | 'error' | 'info'>;
  engine?: Omit<AlertEngineOptions, 'rulesFor'>;
  /**
   * Called with each new alert after it was stored and published to `hub` (several instances:
   * the app hands it to the scores topic). Awaited, so the score's processing waits for it; a
   * failure is logged, never thrown (the alert is stored and delivered here already).
   */
  onAlert?: (alert: Alert) => Promise<void> | void;
}

export class AnalyticsService {
  readonly engine: AlertEngine;
  private readonly rules = new Map<string, AlertRules>();
  private readonly serial = new KeyedSerial();

  constructor(private readonly o: AnalyticsServiceOptions) {
    this.engine = new AlertEngine({ ...o.engine, rulesFor: (t) => this.rulesFor(t) });
  }

  /** Loads every tenant's stored rules into the cache (call after the alert store started). */
  async start(): Promise<void> {
    for (const [tenant, r] of await this.o.alertStore.allRules()) this.rules.set(tenant, r);
  }

  /** A tenant's rules: stored ones, or DEFAULT_RULES. */
  rulesFor(tenant: string): AlertRules {
    return this.rules.get(tenant) ?? DEFAULT_RULES;
  }

  /** Applies a patch over the tenant's current rules, validates, stores, and uses them from now on. */
  async setRules(tenant: string, patch: AlertRulesPatch): Promise<AlertRules> {
    const next = mergeRules(this.rulesFor(tenant), patch);
    await this.o.alertStore.setRules(tenant, next);
    this.rules.set(tenant, next);
    return next;
  }

  /** The pipeline calls this after `store.putScore` (inserted or duplicate: repeats are harmless). */
  onScored(score: SegmentScore): Promise<Alert[]> {
    return this.serial.run(callKey(score.tenant, score.callId), () => this.process(score));
  }

  /**
   * The call ended: frees its engine state (its summary and alerts stay stored). Pass the call's
   * tenant; without it every tenant's call of that id is freed (they reload from the stores on
   * their next score, so this costs work, never correctness).
   */
  onCallEnded(callId: string, tenant?: string): void {
    this.engine.endCall(callId, tenant);
  }

  private async process(score: SegmentScore): Promise<Alert[]> {
    if (!this.engine.has(score.callId, score.tenant) && (score.segmentIndex > 0 || score.revision > 0)) await this.hydrate(score);
    const alerts = this.engine.onScore(score);
    const held = this.engine.snapshot(score.callId, score.tenant);
    if (held.length > 0) {
      let firstMs = Infinity;
      let lastMs = -Infinity;
      for (const p of held) {
        firstMs = Math.min(firstMs, p.startMs);
        lastMs = Math.max(lastMs, p.endMs);
      }
      await this.o.alertStore.putSummary({ callId: score.callId, tenant: score.tenant, firstMs, lastMs, channels: callAnalytics(held) });
    }
    const fresh: Alert[] = [];
    for (const a of alerts) {
      if ((await this.o.alertStore.putAlert(a)) === 'inserted') {
        fresh.push(a);
        this.o.hub.publish(a);
        if (this.o.onAlert) await this.forward(a, this.o.onAlert);
      }
    }
    return fresh;
  }

  private async forward(a: Alert, onAlert: (alert: Alert) => Promise<void> | void): Promise<void> {
    try {
      await onAlert(a);
    } catch (e) {
      this.o.logger?.warn({ err: e, tenant: a.tenant, callId: a.callId, alertId: a.id }, 'analytics: onAlert failed; the alert reached this instance only');
    }
  }

  private async hydrate(score: SegmentScore): Promise<void> {
    const store = this.o.scoreStore;
    const history: SegmentScore[] = [];
    try {
      if (store) {
        let after: string | undefined;
        do {
          const page = await store.getSegments({ tenant: score.tenant, callId: score.callId, first: 500, after, latestOnly: true });
          // The score being processed is stored already: leave it out so onScore evaluates it.
          for (const e of page.items) if (!(e.node.channel === score.channel && e.node.segmentIndex === score.segmentIndex)) history.push(e.node);
          after = page.hasNextPage && page.endCursor ? page.endCursor : undefined;
        } while (after);
      }
      const alerts = await this.o.alertStore.alertsOfCall(score.callId, score.tenant);
      this.engine.seed(score.callId, score.tenant, history, alerts);
    } catch (e) {
      // Without its history the call is still evaluated from here on; say so once.
      this.o.logger?.warn({ err: e, tenant: score.tenant, callId: score.callId }, 'analytics: could not reload call history');
    }
  }
}
