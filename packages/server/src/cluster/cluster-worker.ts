import type { UsageEntry } from '../keys/usage-buffer.js';
import { isPrimaryMessage, type ListeningMessage, type WorkerMessage } from './cluster-messages.js';

/** How long a worker waits for the primary to take its usage before giving up on that batch. */
const USAGE_TIMEOUT_MS = 5000;

/** A worker's side of the channel to the primary process of `latchkey serve --workers N`. */
export interface PrimaryChannel {
  /** Hands buffered key usage to the primary; resolves once the primary holds it. */
  sendUsage(entries: UsageEntry[]): Promise<void>;
  /** Tells the primary this worker listens. */
  listening(message: Omit<ListeningMessage, 'latchkey'>): void;
  /** Called when the primary asks this worker to stop, or the primary is gone. */
  onStop(stop: () => void): void;
}

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('not a worker: no channel to the primary process'));
    process.send(message, undefined, {}, (err) => (err ? reject(err) : resolve()));
  });
}

/** Connects this worker to its primary over the cluster's IPC channel. */
export function connectToPrimary(): PrimaryChannel {
  let seq = 0;
  const waiting = new Map<number, () => void>();
  let stop: (() => void) | undefined;
  // A request to stop that came while this worker was still starting: it stops once it can.
  let stopAsked = false;
  const askStop = () => {
    stopAsked = true;
    stop?.();
  };
  process.on('message', (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    if (message.latchkey === 'usage-taken') {
      waiting.get(message.seq)?.();
      waiting.delete(message.seq);
    } else {
      askStop();
    }
  });
  // The primary is gone (killed): nobody writes usage or counts rate limits any more.
  process.on('disconnect', askStop);
  return {
    async sendUsage(entries) {
      const id = ++seq;
      let timer: NodeJS.Timeout | undefined;
      const taken = new Promise<void>((resolve, reject) => {
        waiting.set(id, resolve);
        timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`the primary process did not take ${entries.length} key uses within 5 s`));
        }, USAGE_TIMEOUT_MS);
      });
      try {
        await Promise.all([send({ latchkey: 'usage', seq: id, entries }), taken]);
      } finally {
        clearTimeout(timer);
        waiting.delete(id);
      }
    },
    listening(message) {
      void send({ latchkey: 'listening', ...message }).catch(() => {});
    },
    onStop(callback) {
      stop = callback;
      if (stopAsked) callback();
    },
  };
}
