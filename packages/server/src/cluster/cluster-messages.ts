import type { UsageEntry } from '../keys/usage-buffer.js';

// What the primary process of `latchkey serve --workers N` and its workers say to each other
// over node:cluster's IPC channel (rate-limiter-flexible's cluster limiter has its own).

/** A worker hands its buffered key usage to the primary, which writes it. */
export interface UsageMessage {
  latchkey: 'usage';
  seq: number;
  entries: UsageEntry[];
}

/** The primary holds that usage now (in its own buffer). */
export interface UsageTakenMessage {
  latchkey: 'usage-taken';
  seq: number;
}

/** A worker listens: the primary shows the banner once every worker does. */
export interface ListeningMessage {
  latchkey: 'listening';
  origin: string;
  needsBootstrap: boolean;
}

/** The primary asks a worker to stop gracefully (it got SIGTERM or SIGINT). */
export interface ShutdownMessage {
  latchkey: 'shutdown';
}

export type WorkerMessage = UsageMessage | ListeningMessage;
export type PrimaryMessage = UsageTakenMessage | ShutdownMessage;

const kindOf = (message: unknown): unknown =>
  message && typeof message === 'object' ? (message as { latchkey?: unknown }).latchkey : undefined;

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  const kind = kindOf(message);
  if (kind === 'usage') return Array.isArray((message as UsageMessage).entries);
  return kind === 'listening';
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  const kind = kindOf(message);
  return kind === 'usage-taken' || kind === 'shutdown';
}
