/**
 * The thread that writes buffered key usage to a SQLite file (see usage-writer.ts): a
 * connection of its own, so that the main thread never waits on the disk, nor on the WAL
 * checkpoints those writes cause.
 *
 * It imports only node builtins and better-sqlite3, because the bundle builds it as an entry
 * point of its own (dist/usage-writer.worker.js) that shares no code with dist/main.js.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';

/** What the thread is started with. */
export interface UsageWorkerData {
  file: string;
  /** Rows per transaction. */
  chunk: number;
  /** Pause between two transactions of one batch, in ms. */
  pauseMs: number;
}

export type UsageWorkerRequest =
  | { type: 'write'; seq: number; entries: { id: string; at: string; ip: string }[] }
  | { type: 'close' };

export type UsageWorkerReply =
  | { seq: number; ok: true }
  | { seq: number; ok: false; error: { name: string; message: string; code?: string; stack?: string } };

type Update = (entries: { id: string; at: string; ip: string }[]) => void;

const port = parentPort;
const options = workerData as UsageWorkerData;
let db: SqliteDatabase.Database | undefined;
let update: Update | undefined;

/**
 * Opened on the first batch, not at start: a failure then answers that batch (and reaches
 * the server's log) instead of killing the thread. Never creates the file: a database that
 * is gone is an error, not a new empty one.
 */
function open(): Update {
  if (update) return update;
  const conn = new SqliteDatabase(options.file, { fileMustExist: true });
  try {
    // As src/db/database.ts opens the main connection.
    conn.pragma('journal_mode = WAL');
    conn.pragma('busy_timeout = 5000');
    conn.pragma('foreign_keys = ON');
    conn.pragma('synchronous = NORMAL');
    const statement = conn.prepare('UPDATE api_keys SET last_used_at = ?, last_used_ip = ? WHERE id = ?');
    const inTransaction = conn.transaction((entries: { id: string; at: string; ip: string }[]) => {
      for (const e of entries) statement.run(e.at, e.ip, e.id);
    });
    // IMMEDIATE: take the write lock up front, waiting out busy_timeout, rather than fail
    // half-way with SQLITE_BUSY when the main connection is writing.
    update = (entries) => inTransaction.immediate(entries);
    db = conn;
    return update;
  } catch (err) {
    conn.close();
    throw err;
  }
}

async function write(entries: { id: string; at: string; ip: string }[]): Promise<void> {
  const apply = open();
  for (let start = 0; start < entries.length; start += options.chunk) {
    // Between two transactions the lock is free, but a writer on the main connection (whose
    // wait blocks the event loop) only tries again when its busy handler wakes, after 1, 2,
    // 5… up to 100 ms: a short pause lets it in before the next transaction. Measured on
    // 200 000 keys, its longest wait during a 20 000-key batch mostly fell from 20-75 ms to
    // under 10 ms.
    if (start > 0) await sleep(options.pauseMs);
    apply(entries.slice(start, start + options.chunk));
  }
}

function describe(err: unknown): Extract<UsageWorkerReply, { ok: false }>['error'] {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(err.stack ? { stack: err.stack } : {}),
  };
}

/** Requests are handled in order, a batch after the one before it and `close` after both. */
let queue: Promise<void> = Promise.resolve();

port?.on('message', (request: UsageWorkerRequest) => {
  queue = queue.then(() => handle(request));
});

async function handle(request: UsageWorkerRequest): Promise<void> {
  if (request.type === 'close') {
    drop();
    port?.close();
    return;
  }
  try {
    await write(request.entries);
    port?.postMessage({ seq: request.seq, ok: true } satisfies UsageWorkerReply);
  } catch (err) {
    // A connection that failed may be in any state (or its file gone): the next batch opens anew.
    drop();
    port?.postMessage({ seq: request.seq, ok: false, error: describe(err) } satisfies UsageWorkerReply);
  }
}

function drop(): void {
  try {
    db?.close();
  } catch {}
  db = undefined;
  update = undefined;
}
