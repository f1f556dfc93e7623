/**
 * README.md's configuration table, generated from the schema: `npm run docs:config` writes it
 * between the markers below; test/config/readme.test.ts fails when the README is stale.
 */
import { CONFIG_VARS } from './schema.js';
import { CONFIG_GROUPS } from './vars.js';

export const TABLE_BEGIN = '<!-- config-table:begin (generated from src/app/config/schema.ts by `npm run docs:config`; do not edit) -->';
export const TABLE_END = '<!-- config-table:end -->';

/** A markdown table cell: pipes escaped, one line. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** The table: one row per variable, by group in CONFIG_GROUPS order, then in schema order. */
export function renderConfigTable(): string {
  const rows = Object.entries(CONFIG_VARS)
    .map(([name, spec], i) => ({ name, spec, key: CONFIG_GROUPS.indexOf(spec.group) * 1000 + i }))
    .sort((a, b) => a.key - b.key)
    .map(({ name, spec }) => `| \`${name}\` | ${spec.group} | ${cell(spec.type)} | ${cell(spec.default)} | ${cell(spec.description)} |`);
  return ['| variable | group | type | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** `readme` with the text between the markers replaced by the table; throws when a marker is missing. */
export function withConfigTable(readme: string): string {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin) throw new Error(`README.md lacks the markers ${TABLE_BEGIN} ... ${TABLE_END}`);
  return `${readme.slice(0, begin + TABLE_BEGIN.length)}\n${renderConfigTable()}\n${readme.slice(end)}`;
}
