// The same small API, a stand-in for an archive's, in each framework, protected by the guard:
// GET /api/v1/core/snapshots needs archive.snapshots:read, POST needs archive.snapshots:write.
// Each answers with what its handler sees of the verdict.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import Koa from 'koa';
import { answerFor, type Guard, type GuardVerdict } from '../../src/guard.js';

export const FRAMEWORKS = ['express', 'koa', 'fastify', 'hono'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export interface GuardedApp {
  url: string;
  close(): Promise<void>;
}

/** Where the test puts the guard the app uses (it swaps it for one that cannot reach Latchkey). */
export interface GuardHolder {
  guard: Guard;
}

const PATH = '/api/v1/core/snapshots';
const permissionFor = (method: string) =>
  method === 'GET' || method === 'HEAD' ? 'archive.snapshots:read' : 'archive.snapshots:write';

/** What a handler saw: the owner, the key's permissions and its rate limit. */
function seen(verdict: GuardVerdict) {
  const { key_id, owner, permissions, ratelimit, cached } = verdict;
  return { key_id, owner, permissions, ratelimit, cached };
}

function listening(server: Server): Promise<string> {
  return new Promise((resolve) => {
    const done = () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    if (server.listening) done();
    else server.once('listening', done);
  });
}

function closing(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function startExpress(holder: GuardHolder): Promise<GuardedApp> {
  const app = express();
  const requireKey: express.RequestHandler = async (req, res, next) => {
    const verdict = await holder.guard.check(req, { permissions: [permissionFor(req.method)] });
    const answer = answerFor(verdict);
    res.set(answer.headers);
    if (!verdict.valid) {
      res.status(answer.status).send(answer.body);
      return;
    }
    res.locals.verdict = verdict;
    next();
  };
  app.get(PATH, requireKey, (_req, res) => {
    res.json(seen(res.locals.verdict));
  });
  app.post(PATH, requireKey, (_req, res) => {
    res.status(201).json(seen(res.locals.verdict));
  });
  const server = app.listen(0, '127.0.0.1');
  return { url: await listening(server), close: () => closing(server) };
}

async function startKoa(holder: GuardHolder): Promise<GuardedApp> {
  const app = new Koa();
  app.use(async (ctx, next) => {
    const verdict = await holder.guard.check(ctx.req, {
      permissions: [permissionFor(ctx.method)],
      clientIp: ctx.ip,
    });
    const answer = answerFor(verdict);
    ctx.set(answer.headers);
    if (!verdict.valid) {
      ctx.status = answer.status;
      ctx.body = answer.body;
      return;
    }
    ctx.state.verdict = verdict;
    await next();
  });
  app.use((ctx) => {
    if (ctx.path !== PATH) return;
    ctx.status = ctx.method === 'POST' ? 201 : 200;
    ctx.body = seen(ctx.state.verdict);
  });
  const server = app.listen(0, '127.0.0.1');
  return { url: await listening(server), close: () => closing(server) };
}

async function startFastify(holder: GuardHolder): Promise<GuardedApp> {
  const app = Fastify();
  const verdicts = new WeakMap<object, GuardVerdict>();
  app.addHook('preHandler', async (request, reply) => {
    const verdict = await holder.guard.check(request.raw, {
      permissions: [permissionFor(request.method)],
      clientIp: request.ip,
    });
    const answer = answerFor(verdict);
    reply.headers(answer.headers);
    if (!verdict.valid) return reply.code(answer.status).send(answer.body);
    verdicts.set(request, verdict);
  });
  app.get(PATH, async (request) => seen(verdicts.get(request) as GuardVerdict));
  app.post(PATH, async (request, reply) => reply.code(201).send(seen(verdicts.get(request) as GuardVerdict)));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}

async function startHono(holder: GuardHolder): Promise<GuardedApp> {
  const app = new Hono<{ Variables: { verdict: GuardVerdict } }>();
  const requireKey = createMiddleware<{ Variables: { verdict: GuardVerdict } }>(async (c, next) => {
    const verdict = await holder.guard.check(c.req.raw, {
      permissions: [permissionFor(c.req.method)],
      clientIp: getConnInfo(c).remote.address,
    });
    const answer = answerFor(verdict);
    if (!verdict.valid) return new Response(answer.body, { status: answer.status, headers: answer.headers });
    for (const [name, value] of Object.entries(answer.headers)) c.header(name, value);
    c.set('verdict', verdict);
    await next();
  });
  app.get(PATH, requireKey, (c) => c.json(seen(c.get('verdict'))));
  app.post(PATH, requireKey, (c) => c.json(seen(c.get('verdict')), 201));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  return { url: await listening(server), close: () => closing(server) };
}

/** Starts the app of one framework on a free port. */
export function startGuardedApp(framework: Framework, holder: GuardHolder): Promise<GuardedApp> {
  switch (framework) {
    case 'express':
      return startExpress(holder);
    case 'koa':
      return startKoa(holder);
    case 'fastify':
      return startFastify(holder);
    case 'hono':
      return startHono(holder);
  }
}
