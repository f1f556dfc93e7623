/** How every SQLite adapter reports driver failures: AppErrors pass through, anything the driver
 *  throws (locked, disk full, closed) becomes a retriable STORE_UNAVAILABLE. */
import { AppError, isAppError } from '../core/errors.js';

export function guardSqlite<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isAppError(e)) throw e;
    throw new AppError('STORE_UNAVAILABLE', { reason: e instanceof Error ? e.message : String(e) }, { cause: e });
  }
}
