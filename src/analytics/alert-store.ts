/**
 * Where alerts, per-tenant alert rules and per-call summaries live. Async, so it has a SQLite
 * (sqlite-alert-store.ts) and a PostgreSQL (postgres-alert-store.ts) adapter; one behaviour
 * suite (test/analytics/alert-store-contract.ts) runs against both.
 *
 * A call is (tenant, callId): call ids are unique only within a tenant. Every method that takes
 * an optional `tenant` reads "undefined = all tenants", which is for operators and the engine's
 * own bookkeeping, never for API callers (the resolvers always pass the caller's tenant).
 */
import type { Page } from '../core/ports.js';
import type { SentimentLabel } from '../core/types.js';
import type { Alert } from './alert.js';
import type { AlertRuleKind, AlertRules } from './rules.js';
import type { ChannelAnalytics } from './stats.js';

export interface AlertQuery {
  tenant?: string;
  callId?: string;
  rule?: AlertRuleKind;
  /** Only alerts whose segment ended at or after this event time (ms since the unix epoch). */
  sinceMs?: number;
  /** Page size, 1..500. */
  first: number;
  after?: string;
}

/** The stored summary of one call: event-time span, per-channel analytics, alert count. */
export interface CallSummary {
  callId: string;
  tenant: string;
  /** Start of the first scored segment, ms since the unix epoch. */
  firstMs: number;
  /** End of the last scored segment. */
  lastMs: number;
  channels: ChannelAnalytics[];
  alertCount: number;
}

export interface CallSearch {
  tenant?: string;
  /** The call's scored span overlaps [fromMs, toMs] (either bound optional). */
  fromMs?: number;
  toMs?: number;
  /** Channel whose mean valence the sentiment filters read (default 'customer'). */
  channel?: string;
  minMeanValence?: number;
  maxMeanValence?: number;
  /** Mean valence class of `channel`: NEGATIVE below band[0], POSITIVE above band[1], else NEUTRAL. */
  sentiment?: SentimentLabel;
  /** The neutral band of the model manifest (default [-0.5, 0.5]). */
  neutralBand?: [number, number];
  /** true: only calls with alerts; false: only calls without. */
  hasAlerts?: boolean;
  /** 1..500 */
  first: number;
  after?: string;
}

export interface AlertStore {
  start(): Promise<void>;
  /** Idempotent on alert id: a repeat returns 'duplicate' and counts nothing twice. */
  putAlert(alert: Alert): Promise<'inserted' | 'duplicate'>;
  /** Newest first (eventTimeMs, then id, descending). */
  listAlerts(q: AlertQuery): Promise<Page<Alert>>;
  /** The alerts already raised on a tenant's call, oldest first (eventTimeMs, then id). */
  alertsOfCall(callId: string, tenant?: string): Promise<Alert[]>;
  getRules(tenant: string): Promise<AlertRules | null>;
  /** Every tenant's stored rules (loaded once at start into the engine's cache). */
  allRules(): Promise<Map<string, AlertRules>>;
  setRules(tenant: string, rules: AlertRules): Promise<void>;
  /** Replaces one call's summary (span and channels; the alert count is kept by putAlert). */
  putSummary(summary: Omit<CallSummary, 'alertCount'>): Promise<void>;
  /** A tenant's call summary; without a tenant, the first tenant's (byte order) of that call id. */
  getSummary(callId: string, tenant?: string): Promise<CallSummary | null>;
  /** Most recent first (lastMs, then callId, then tenant, descending). */
  searchCalls(q: CallSearch): Promise<Page<CallSummary>>;
  stop(): Promise<void>;
}
