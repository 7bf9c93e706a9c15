import type { DatabaseConfig } from '../config/config.js';
import type { KyselyKeyRepository } from './key.repository.js';
import { UsageBuffer, type UsageEntry } from './usage-buffer.js';
import { UsageWriter, writesUsageOffThread } from './usage-writer.js';

/**
 * Where key usage goes: buffered, then written in batches. On a SQLite file a worker thread
 * with a connection of its own writes them (see usage-writer.ts); otherwise the repository.
 */
export function createUsageBuffer(
  database: DatabaseConfig,
  keys: KyselyKeyRepository,
  onError: (error: unknown) => void,
): UsageBuffer {
  const inThread = (entries: UsageEntry[]) => keys.recordUsage(entries);
  if (!writesUsageOffThread(database)) return new UsageBuffer(inThread, onError);
  const writer = new UsageWriter(database.file, { fallback: inThread, onThreadError: onError });
  return new UsageBuffer(
    (entries) => writer.write(entries),
    onError,
    () => writer.close(),
  );
}
