/**
 * Parsed documents shared by the operations that send the same query text. A parsed document is
 * about 6 KB for a one-line subscription, and a dashboard opens the same few subscriptions on
 * every socket: 40,000 open resume operations held 40,000 copies (half of their memory,
 * measured with bench/resume-memory.ts). Documents are immutable once parsed (graphql-js never
 * changes them), so one copy serves every operation.
 *
 * Bounded: at most `maxEntries` documents, each from a query of at most `maxQueryChars`
 * characters (a long query is parsed every time and not kept); the least recently used goes first.
 */
import type { DocumentNode } from 'graphql';

export class DocumentCache {
  private readonly docs = new Map<string, DocumentNode>();

  /**
   * @param maxEntries documents kept. Default 256.
   * @param maxQueryChars longest query text kept. Default 8_192.
   */
  constructor(readonly maxEntries = 256, readonly maxQueryChars = 8_192) {}

  /** The document of `query`, parsed by `parse` on a miss (a parse error is thrown, not cached). */
  get(query: string, parse: (q: string) => DocumentNode): DocumentNode {
    const hit = this.docs.get(query);
    if (hit) {
      // Move to the newest end of the Map's insertion order.
      this.docs.delete(query);
      this.docs.set(query, hit);
      return hit;
    }
    const doc = parse(query);
    if (query.length <= this.maxQueryChars) {
      this.docs.set(query, doc);
      if (this.docs.size > this.maxEntries) this.docs.delete(this.docs.keys().next().value as string);
    }
    return doc;
  }

  get size(): number {
    return this.docs.size;
  }
}
