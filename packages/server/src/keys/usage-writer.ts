import { Worker } from 'node:worker_threads';
import type { DatabaseConfig } from '../config/config.js';
import { USAGE_CHUNK } from './key.repository.js';
import type { UsageEntry } from './usage-buffer.js';
import type { UsageWorkerData, UsageWorkerReply, UsageWorkerRequest } from './usage-writer.worker.js';

/**
 * The worker module's name without extension: `usage-writer.worker.ts` beside this file in
 * the sources; `usage-writer.worker.js` beside `main.js` in the bundle, where this code
 * runs inside main.js.
 */
const WORKER_NAME = 'usage-writer.worker';
/** Pause between two transactions of a batch (see usage-writer.worker.ts). */
const PAUSE_MS = 5;
/** How long `close` lets the thread finish what it was given before it is terminated. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * True when usage is written by a thread of its own: on a SQLite file only. On Postgres
 * the writes are asynchronous already, and a database in memory exists only for the
 * connection that opened it.
 */
export function writesUsageOffThread(
  database: DatabaseConfig | undefined,
): database is { kind: 'sqlite'; file: string } {
  return database?.kind === 'sqlite' && database.file !== ':memory:' && database.file !== '';
}

/**
 * Where the worker module is, from the URL of the module that spawns it: a `.ts` module is
 * the sources, run by tsx or vitest, with the worker's source beside it; otherwise it is
 * the bundle, with the compiled worker beside it.
 */
export function locateUsageWorker(moduleUrl: string): { url: URL; typescript: boolean } {
  const typescript = new URL(moduleUrl).pathname.endsWith('.ts');
  return { url: new URL(`./${WORKER_NAME}.${typescript ? 'ts' : 'js'}`, moduleUrl), typescript };
}

/** Starts the thread; replaced in tests to watch or break it. */
export type SpawnUsageWorker = (data: UsageWorkerData) => Worker;

/**
 * The compiled worker starts as it is. The TypeScript one needs tsx's hooks in its thread,
 * and `--import tsx` in its execArgv does not give them: on Node 20 (and 22 or 24 before
 * 22.22.3 or 24.11.1) tsx registers itself on the main thread only, and the bare name is
 * resolved from the working directory. So a small script registers them through tsx's API,
 * found from this module, and imports the worker. Being evaluated, it inherits the
 * parent's execArgv as it is; a Worker given execArgv explicitly refuses some that a
 * process may have (--max-old-space-size).
 */
export const spawnUsageWorker: SpawnUsageWorker = (data) => {
  const { url, typescript } = locateUsageWorker(import.meta.url);
  if (!typescript) return new Worker(url, { workerData: data });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: data });
};

export interface UsageWriterOptions {
  /** Writes a batch on this thread when the worker cannot: it did not start, or died. */
  fallback: (entries: UsageEntry[]) => Promise<void>;
  /** Told when the worker failed (its batch then went to `fallback`). */
  onThreadError: (error: unknown) => void;
  spawn?: SpawnUsageWorker;
  chunk?: number;
  pauseMs?: number;
}

interface Waiting {
  entries: UsageEntry[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Running {
  worker: Worker;
  waiting: Map<number, Waiting>;
  exited: Promise<void>;
}

/** An error from the worker's thread, as the main thread's logs would show it. */
function rebuild(error: Extract<UsageWorkerReply, { ok: false }>['error']): Error {
  const err = Object.assign(new Error(error.message), error.code ? { code: error.code } : {});
  err.name = error.name;
  if (error.stack) err.stack = error.stack;
  return err;
}

/**
 * Writes buffered key usage to a SQLite file from a worker thread, so that a batch of tens
 * of thousands of rows (and the WAL checkpoints it causes) never blocks the event loop:
 * better-sqlite3 is synchronous. `write` resolves once the batch is committed, so a flush
 * still means "written". The thread starts on the first batch, keeps the process alive
 * only while it has a batch, and a new one replaces it after a crash.
 */
export class UsageWriter {
  private current: Running | undefined;
  private seq = 0;
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly options: UsageWriterOptions,
  ) {}

  /** True while a worker thread exists (until its exit). */
  get running(): boolean {
    return this.current !== undefined;
  }

  write(entries: UsageEntry[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The key usage writer is closed.'));
    return new Promise<void>((resolve, reject) => {
      const waiting: Waiting = { entries, resolve, reject };
      let running: Running;
      try {
        running = this.current ?? this.start();
      } catch (err) {
        this.recover(waiting, err);
        return;
      }
      const seq = ++this.seq;
      running.waiting.set(seq, waiting);
      running.worker.ref();
      running.worker.postMessage({ type: 'write', seq, entries } satisfies UsageWorkerRequest);
    });
  }

  /** Lets the thread finish what it was given, then ends it. Later writes are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const running = this.current;
    if (!running) return;
    // Kept alive until it has exited, or a shutdown awaiting this could end first.
    running.worker.ref();
    running.worker.postMessage({ type: 'close' } satisfies UsageWorkerRequest);
    const timer = setTimeout(() => void running.worker.terminate(), CLOSE_TIMEOUT_MS);
    await running.exited;
    clearTimeout(timer);
  }

  private start(): Running {
    const worker = (this.options.spawn ?? spawnUsageWorker)({
      file: this.file,
      chunk: this.options.chunk ?? USAGE_CHUNK,
      pauseMs: this.options.pauseMs ?? PAUSE_MS,
    });
    worker.unref();
    let markExited = () => {};
    const running: Running = {
      worker,
      waiting: new Map(),
      exited: new Promise<void>((resolve) => {
        markExited = resolve;
      }),
    };
    const fail = (error: unknown) => {
      if (this.current === running) this.current = undefined;
      const waiting = [...running.waiting.values()];
      running.waiting.clear();
      for (const w of waiting) this.recover(w, error);
    };
    worker.on('message', (reply: UsageWorkerReply) => {
      const waiting = running.waiting.get(reply.seq);
      if (!waiting) return;
      running.waiting.delete(reply.seq);
      if (running.waiting.size === 0) worker.unref();
      if (reply.ok) waiting.resolve();
      else waiting.reject(rebuild(reply.error));
    });
    // Without an 'error' listener, an exception in the thread would crash the process.
    worker.on('error', fail);
    worker.on('exit', (code) => {
      fail(new Error(`The key usage writer thread exited with code ${code}.`));
      markExited();
    });
    this.current = running;
    return running;
  }

  /** The worker failed while holding this batch: it is written on this thread instead. */
  private recover(waiting: Waiting, error: unknown): void {
    this.options.onThreadError(
      new Error('The key usage writer thread failed; its batch is written on the main thread.', {
        cause: error,
      }),
    );
    // Called from the thread's event handlers: nothing may throw out of here.
    Promise.resolve()
      .then(() => this.options.fallback(waiting.entries))
      .then(waiting.resolve, waiting.reject);
  }
}
