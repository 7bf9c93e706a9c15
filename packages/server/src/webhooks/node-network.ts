import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import {
  MAX_READ_BODY_BYTES,
  type OutgoingWebhook,
  type WebhookAnswer,
  type WebhookNetwork,
} from '@latchkey/core';

export interface NodeWebhookNetworkOptions {
  /** How long the TCP connection may take to open, in ms. */
  connectTimeoutMs: number;
  /** How long resolving a host name may take, in ms. */
  resolveTimeoutMs?: number;
}

/** The addresses a host resolves to, as the system resolver gives them. */
async function resolveHost(host: string, timeoutMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      lookup(host, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return found.map((a) => a.address);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new Error(typeof code === 'string' ? code : (err as Error).message);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A lookup that answers every question with the one address checked before: the socket
 * connects there, whatever the name would resolve to now (so DNS rebinding cannot move it).
 */
function pinnedLookup(address: string): LookupFunction {
  const family = isIP(address);
  return (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (err: null, addresses: { address: string; family: number }[]) => void)(null, [
        { address, family },
      ]);
    } else {
      callback(null, address, family);
    }
  };
}

/**
 * Sends one webhook request with node:http(s) to the pinned address: no redirect is followed
 * (node:http never follows one), a fresh connection per attempt, a connect timeout and a
 * total timeout, and at most MAX_READ_BODY_BYTES of the answer read. TLS still checks the
 * certificate against the URL's host name.
 */
function sendPinned(request: OutgoingWebhook, options: NodeWebhookNetworkOptions): Promise<WebhookAnswer> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const { address } = request;
  if (address === undefined) {
    return Promise.resolve({
      ok: false,
      timedOut: false,
      error: 'no checked address to connect to',
      durationMs: 0,
    });
  }
  const url = new URL(request.url);
  const secure = url.protocol === 'https:';
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const body = Buffer.from(request.body, 'utf8');
  return new Promise<WebhookAnswer>((resolve) => {
    let settled = false;
    let timedOut = false;
    let status: number | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (answer: WebhookAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      clearTimeout(connect);
      resolve(answer);
    };
    const answered = (truncated: boolean) =>
      finish({
        ok: true,
        status: status as number,
        body: Buffer.concat(chunks).subarray(0, MAX_READ_BODY_BYTES).toString('utf8'),
        truncated,
        durationMs: elapsed(),
      });
    const req = (secure ? https : http).request({
      protocol: url.protocol,
      hostname,
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { ...request.headers, 'content-length': String(body.length), host: url.host },
      lookup: pinnedLookup(address),
      ...(secure && !isIP(hostname) ? { servername: hostname } : {}),
      agent: false,
    });
    const total = setTimeout(() => {
      timedOut = true;
      // An answer already under way counts with what came of it.
      if (status !== undefined) answered(true);
      req.destroy(new Error(`no answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    const connect = setTimeout(
      () => {
        timedOut = true;
        req.destroy(new Error(`could not connect within ${options.connectTimeoutMs} ms`));
      },
      Math.min(options.connectTimeoutMs, request.timeoutMs),
    );
    req.on('socket', (socket) => {
      socket.once('connect', () => clearTimeout(connect));
    });
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_READ_BODY_BYTES) {
          answered(true);
          res.destroy();
        }
      });
      res.on('end', () => answered(false));
      res.on('error', () => answered(true));
    });
    req.on('error', (err) => {
      finish({ ok: false, timedOut, error: err.message || String(err), durationMs: elapsed() });
    });
    req.end(body);
  });
}

/** How the server sends webhooks: resolved here, checked by the core, then pinned. */
export function nodeWebhookNetwork(options: NodeWebhookNetworkOptions): WebhookNetwork {
  const resolveTimeoutMs = options.resolveTimeoutMs ?? Math.max(options.connectTimeoutMs, 1000);
  return {
    resolve: (host) => resolveHost(host, resolveTimeoutMs),
    send: (request) => sendPinned(request, options),
  };
}
