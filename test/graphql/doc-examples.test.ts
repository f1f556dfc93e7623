/**
 * The GraphQL examples in README.md and docs/api.md stay in step with the schema: every
 * operation of every ```graphql block parses and validates against schema/schema.graphql +
 * schema/analytics.graphql, so a renamed field breaks this test instead of a reader's query.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildSchema, Kind, parse, validate, type DocumentNode } from 'graphql';

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');
const schema = buildSchema(`${read('schema/schema.graphql')}\n${read('schema/analytics.graphql')}`);

/** The ```graphql blocks of a markdown file. */
function blocks(markdown: string): string[] {
  return [...markdown.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]);
}

for (const file of ['README.md', 'docs/api.md']) {
  test(`${file}: every GraphQL example validates against the schema`, () => {
    const found = blocks(read(file));
    assert.ok(found.length > 0, `no graphql blocks in ${file}`);
    for (const block of found) {
      const doc = parse(block);
      // A block may list several operations (a query, a mutation, a subscription): each alone.
      for (const def of doc.definitions) {
        assert.equal(def.kind, Kind.OPERATION_DEFINITION);
        const one: DocumentNode = { kind: Kind.DOCUMENT, definitions: [def] };
        const errors = validate(schema, one);
        assert.deepEqual(errors.map((e) => e.message), [], `${file}:\n${block}`);
      }
    }
  });
}
