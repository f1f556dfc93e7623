/** Every SQLite table's migrations (scores, calls, ownership, analytics), in order. Append new ones; never edit one that has shipped. */
import type { Migration } from '../types.js';
import { m0001 } from './0001-initial.js';
import { m0002 } from './0002-partition-owners.js';
import { m0003 } from './0003-text-source.js';
import { m0004 } from './0004-utterances-talk.js';
import { m0005, m0006 } from './0005-analytics.js';

export const SQLITE_MIGRATIONS: readonly Migration[] = [m0001, m0002, m0003, m0004, m0005, m0006];
