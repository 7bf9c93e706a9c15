import { CORE_HANDLERS, type Handler } from '@latchkey/core';
import Negotiator from 'negotiator';
import type { MetricsSetting } from '../config/config.js';
import { authorizeScrape } from '../metrics/metrics.endpoint.js';
import type { Metrics } from '../metrics/metrics.js';
import { renderRootPage } from '../pages/root-page.js';

/**
 * The server's own handlers of the `meta` tag besides the docs pages: `GET /` answers a
 * browser with a page of links (API clients get the core's JSON), and `GET /metrics` lets
 * a scraper read the metrics with the operator's token.
 */
export function metaHandlers(options: { metrics: Metrics; setting: MetricsSetting }) {
  const coreRoot = CORE_HANDLERS.getRoot as Handler;
  return {
    getRoot: async (c) => {
      const json = await coreRoot(c);
      // A browser (which asks for text/html first) gets a page of links; API clients get JSON.
      const accept = c.header('accept');
      const preferred = new Negotiator({ headers: { accept } }).mediaType(['application/json', 'text/html']);
      if (accept === undefined || preferred !== 'text/html') return json;
      const { name, version, links } = json.body as {
        name: string;
        version: string;
        links: Record<string, string>;
      };
      return {
        status: 200,
        body: renderRootPage(name, version, links),
        contentType: 'text/html; charset=utf-8',
        headers: { Vary: 'Accept' },
      };
    },

    getMetrics: async (c) => {
      authorizeScrape(options.setting, c.header('authorization'));
      const { contentType, text } = await options.metrics.render();
      return { status: 200, body: text, contentType, headers: { 'Cache-Control': 'no-store' } };
    },
  } satisfies Record<string, Handler>;
}
