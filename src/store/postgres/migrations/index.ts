/** PostgreSQL migrations in order. Append new ones; never edit one that has shipped. */
import type { Migration } from '../../migrations/types.js';
import { pg0001 } from './0001-initial.js';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [pg0001];
