/**
 * Shared subscription execution (issue 14), as Hasura multiplexes and Apollo Router deduplicates:
 * the graphql-ws operations that would compute the same result for every event form one group,
 * which holds ONE source stream (one hub subscription), executes each event ONCE, serialises the
 * result ONCE, and hands that payload to each member's FrameStream (its own bounded queue and
 * socket). 10,000 sockets on one subscription cost one execution and one JSON.stringify per
 * event, plus a queue push and a socket write per member.
 *
 * The group key is (context key, operation name, query text, variables): the execution's every
 * input but the event. Why members of a group can never see each other's data: graphql-js
 * computes a result from the schema (one per server), the document, the operation name, the
 * variables, the root value (none) and the context value. The first four are in the key; the
 * context enters it through `contextKey`, which ws.ts builds from every field of ApiContext a
 * resolver may read (the tenant; `API_CONTEXT_FIELDS` there classifies each field, and the type
 * checker makes a new field be classified). So two members of a group would have computed
 * byte-identical results on their own, and a tenant's events never reach another tenant's group:
 * its source stream was opened with that tenant's filter.
 *
 * Not shared (the caller does not `register` them; graphql-ws runs them per operation as
 * before): operations whose stream depends on the subscriber's own position, i.e. a resume
 * (`since:`) replays that subscriber's history first.
 *
 * Lifecycle: a group opens when its first member subscribes and closes (its source returned, the
 * hub subscription freed) when its last member leaves. A member that joins a running group gets
 * the events published from then on, as a subscription of its own would. If the source cannot
 * open (graphql's `subscribe` answers with errors), each waiting member gets those errors.
 */
import { type ExecutionArgs, type ExecutionResult, subscribe as graphqlSubscribe } from 'graphql';
import type { Logger } from 'pino';
import type { FeedOptions } from '../core/ports.js';
import { formatErrors } from './errors.js';
import { type FrameSocket, FrameStream } from './frame-stream.js';

/** Counters of one multiplexer since it was created (tests and metrics). */
export interface MultiplexStats {
  /** Groups open now. */
  groups: number;
  /** Shared operations open now (members of some group). */
  members: number;
  /** Events executed: one per event per group, whatever the group's size. */
  executions: number;
  /** Payloads handed to members (written, or queued for a busy socket). */
  delivered: number;
  /** Payloads discarded by members' drop-oldest queues. */
  droppedOldest: number;
  /** Members ended with SUBSCRIBER_TOO_SLOW. */
  closedTooSlow: number;
}

/** What the caller knows of an operation it wants shared. */
export interface SharedOperation {
  /** The operation's id on its socket. */
  id: string;
  socket: FrameSocket;
  /** Everything but the document, operation name and variables that the result depends on. */
  contextKey: string;
  /** The query text as sent. */
  query: string;
}

export interface MultiplexOptions {
  logger: Pick<Logger, 'error'>;
  /** Each member's queue bound and overflow policy. Default: the hub's (256, 'drop-oldest'). */
  subscriber?: FeedOptions;
}

interface Group {
  readonly key: string;
  readonly members: Set<FrameStream>;
  /** Settles once the source is open (null) or has failed to open (the result to send instead). */
  ready: Promise<ExecutionResult | null>;
  source: AsyncGenerator<ExecutionResult> | null;
  closed: boolean;
}

export class SubscriptionMultiplexer {
  private readonly groups = new Map<string, Group>();
  private readonly operations = new WeakMap<object, SharedOperation>();
  private readonly counters = { executions: 0, delivered: 0, droppedOldest: 0, closedTooSlow: 0, members: 0 };

  constructor(private readonly opts: MultiplexOptions) {}

  /** Marks the execution args of one operation (as onSubscribe returns them) as shareable. */
  register(args: ExecutionArgs, op: SharedOperation): void {
    this.operations.set(args, op);
  }

  /** graphql-ws's `subscribe` hook: registered operations join their group, the rest run alone. */
  async subscribe(args: ExecutionArgs): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> {
    const op = this.operations.get(args);
    if (!op) return graphqlSubscribe(args);
    this.operations.delete(args);
    const key = [op.contextKey, args.operationName ?? '', op.query, canonicalJson(args.variableValues ?? {})].join('\u0000');
    let group = this.groups.get(key);
    if (!group) group = this.open(key, args);
    const g = group;
    const member = new FrameStream(
      op.id,
      op.socket,
      this.opts.subscriber ?? {},
      () => this.leave(g, member),
      (what) => (what === 'dropped' ? this.counters.droppedOldest++ : this.counters.closedTooSlow++),
    );
    g.members.add(member);
    this.counters.members++;
    const failed = await g.ready;
    if (failed) {
      await member.return();
      return failed;
    }
    return member;
  }

  stats(): MultiplexStats {
    return { groups: this.groups.size, ...this.counters };
  }

  private open(key: string, args: ExecutionArgs): Group {
    const g: Group = { key, members: new Set(), ready: Promise.resolve(null), source: null, closed: false };
    this.groups.set(key, g);
    g.ready = (async () => {
      const r = await graphqlSubscribe(args);
      if (!(Symbol.asyncIterator in r)) {
        this.forget(g);
        return r;
      }
      g.source = r;
      // Every member may have left while the source opened.
      if (g.closed || g.members.size === 0) void this.closeSource(g);
      else void this.pump(g, r);
      return null;
    })().catch((err: unknown) => {
      this.forget(g);
      throw err;
    });
    return g;
  }

  /** Executes each event once (graphql's subscribe maps events through execute) and fans it out. */
  private async pump(g: Group, source: AsyncGenerator<ExecutionResult>): Promise<void> {
    try {
      for await (const result of source) {
        this.counters.executions++;
        // The payload graphql-ws would send, with errors formatted as ws.ts's onNext does.
        const payload = JSON.stringify(result.errors ? { ...result, errors: formatErrors(result.errors, this.opts.logger) } : result);
        for (const m of g.members) m.push(payload);
        this.counters.delivered += g.members.size;
      }
      for (const m of [...g.members]) m.end();
    } catch (err) {
      for (const m of [...g.members]) m.fail(err);
    } finally {
      this.forget(g);
    }
  }

  private leave(g: Group, member: FrameStream): void {
    if (!g.members.delete(member)) return;
    this.counters.members--;
    if (g.members.size === 0) void this.closeSource(g);
  }

  /** Closes the group: no one joins it any more, and its source (hub subscription) is returned. */
  private async closeSource(g: Group): Promise<void> {
    this.forget(g);
    const s = g.source;
    g.source = null;
    if (s) await s.return(undefined);
  }

  private forget(g: Group): void {
    g.closed = true;
    if (this.groups.get(g.key) === g) this.groups.delete(g.key);
  }
}

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` key the same group. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
