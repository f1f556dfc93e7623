/** SQLite migrations in order. Append new ones; never edit one that has shipped. */
import type { Migration } from '../types.js';
import { m0001 } from './0001-initial.js';

export const SQLITE_MIGRATIONS: readonly Migration[] = [m0001];
