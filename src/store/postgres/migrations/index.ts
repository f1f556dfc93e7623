/** Every PostgreSQL table's migrations (scores, calls, ownership, analytics), in order. Append new ones; never edit one that has shipped. */
import type { Migration } from '../../migrations/types.js';
import { pg0001 } from './0001-initial.js';
import { pg0002 } from './0002-partition-owners.js';
import { pg0003 } from './0003-text-source.js';
import { pg0004 } from './0004-utterances-talk.js';
import { pg0005 } from './0005-analytics-initial.js';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [pg0001, pg0002, pg0003, pg0004, pg0005];
