import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '@latchkey/core';
import type { MetricsSetting } from '../config/config.js';

const REALM = 'latchkey-metrics';

function sameSecret(a: string, b: string): boolean {
  // Digests of equal length, so that the comparison takes the same time whatever was sent.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * Lets a scrape of GET /metrics through, or refuses it: 404 while metrics are off, 401
 * without the configured token (`Authorization: Bearer <token>`) when one is set.
 */
export function authorizeScrape(setting: MetricsSetting, authorization: string | undefined): void {
  if (setting.mode === 'off') {
    throw new ApiError('NOT_FOUND', 'Nothing is at GET /metrics: metrics are off (see LATCHKEY_METRICS).');
  }
  if (setting.mode === 'open') return;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  if (!authorization) {
    throw new ApiError('AUTHENTICATION_REQUIRED', 'GET /metrics needs the metrics token as a Bearer token.', {
      headers: { 'WWW-Authenticate': `Bearer realm="${REALM}"` },
    });
  }
  if (!match?.[1] || !sameSecret(match[1], setting.token)) {
    throw new ApiError('AUTHENTICATION_FAILED', 'The metrics token is missing or wrong.', {
      headers: {
        'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="The metrics token is missing or wrong."`,
      },
    });
  }
}
