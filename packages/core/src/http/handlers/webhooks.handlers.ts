import type { DeliveryStatus } from '../../webhooks/webhook.record.js';
import { toDeliveryView, toWebhookView } from '../../webhooks/webhook.record.js';
import {
  DEFAULT_SECRET_GRACE_S,
  type WebhookInput,
  type WebhookPatch,
} from '../../webhooks/webhook.service.js';
import { type Handler, type HandlerContext, pageBody, pageOf, stringParam } from '../handler.js';
import { admin } from './admin.handlers.js';

const webhookId = (c: HandlerContext) => String(c.params.webhook_id);

/** The answers that show a secret: never stored by a cache. */
const NO_STORE = { 'Cache-Control': 'no-store' };

/** Handlers of the `webhooks` tag: superusers only, like the admin API. */
export const webhooksHandlers = {
  listWebhooks: admin(async (c) => {
    const page = pageOf(c);
    const { count, rows } = await c.services.webhooks.list(page);
    return { status: 200, body: pageBody(c, page, count, rows.map(toWebhookView)) };
  }),

  createWebhook: admin(async (c) => {
    const { webhook, secret } = await c.services.webhooks.create(c.actor, c.body as WebhookInput);
    return {
      status: 201,
      headers: { ...NO_STORE, Location: `/api/v1/webhooks/${webhook.id}` },
      body: { ...toWebhookView(webhook), secret },
    };
  }),

  getWebhook: admin(async (c) => ({
    status: 200,
    body: toWebhookView(await c.services.webhooks.get(webhookId(c))),
  })),

  updateWebhook: admin(async (c) => ({
    status: 200,
    body: toWebhookView(await c.services.webhooks.update(c.actor, webhookId(c), c.body as WebhookPatch)),
  })),

  deleteWebhook: admin(async (c) => {
    await c.services.webhooks.delete(c.actor, webhookId(c));
    return { status: 204 };
  }),

  rotateWebhookSecret: admin(async (c) => {
    const grace = (c.body as { grace_seconds?: number } | undefined)?.grace_seconds ?? DEFAULT_SECRET_GRACE_S;
    const { webhook, secret } = await c.services.webhooks.rotateSecret(c.actor, webhookId(c), grace);
    return { status: 200, headers: NO_STORE, body: { ...toWebhookView(webhook), secret } };
  }),

  testWebhook: admin(async (c) => ({
    status: 200,
    body: toDeliveryView(await c.services.webhooks.test(c.actor, webhookId(c))),
  })),

  listWebhookDeliveries: admin(async (c) => {
    const page = pageOf(c);
    const { count, rows } = await c.services.webhooks.listDeliveries(
      webhookId(c),
      // The contract's enum has already refused anything else.
      { status: stringParam(c.query.status) as DeliveryStatus | undefined },
      page,
    );
    return { status: 200, body: pageBody(c, page, count, rows.map(toDeliveryView)) };
  }),

  redeliverWebhookDelivery: admin(async (c) => {
    const delivery = await c.services.webhooks.redeliver(c.actor, webhookId(c), String(c.params.delivery_id));
    return { status: 202, body: toDeliveryView(delivery) };
  }),
} satisfies Record<string, Handler>;
