import { describe, expect, it, vi } from 'vitest';
import { type CredentialExpiringEvent, ExpiryWatch, parseAuthExpires } from './expiry.js';

const NOW = Date.parse('2026-11-22T10:00:00.000Z');
const DAY = 24 * 3600 * 1000;
const expires = (value: string) => new Headers({ 'X-Auth-Expires': value });

describe('parseAuthExpires', () => {
  it('reads RFC 3339 dates and `never`', () => {
    expect(parseAuthExpires('2026-12-22T10:30:00.000Z')).toEqual(new Date('2026-12-22T10:30:00.000Z'));
    expect(parseAuthExpires('2026-12-22T11:30:00+01:00')).toEqual(new Date('2026-12-22T10:30:00.000Z'));
    expect(parseAuthExpires('never')).toBeNull();
  });

  it('is undefined for anything else', () => {
    expect(parseAuthExpires('tomorrow')).toBeUndefined();
    expect(parseAuthExpires('1795948161')).toBeUndefined();
    expect(parseAuthExpires('2026-13-45T99:00:00Z')).toBeUndefined();
  });
});

describe('ExpiryWatch', () => {
  it('warns once when less than the warning time is left', () => {
    const hook = vi.fn<(event: CredentialExpiringEvent) => void>();
    const watch = new ExpiryWatch(7 * DAY, hook, () => NOW);
    const soon = new Date(NOW + 2 * DAY).toISOString();
    watch.observe(expires(soon));
    watch.observe(expires(soon));
    expect(hook).toHaveBeenCalledTimes(1);
    expect(hook).toHaveBeenCalledWith({ expiresAt: new Date(soon), msLeft: 2 * DAY });
    expect(watch.expiresAt).toEqual(new Date(soon));
  });

  it('stays quiet when more is left, for credentials that never expire, and when told not to warn', () => {
    const hook = vi.fn();
    const watch = new ExpiryWatch(DAY, hook, () => NOW);
    watch.observe(expires(new Date(NOW + 2 * DAY).toISOString()));
    watch.observe(expires('never'));
    expect(watch.expiresAt).toBeNull();
    watch.observe(expires(new Date(NOW + 1000).toISOString()), false);
    expect(hook).not.toHaveBeenCalled();
  });

  it('keeps what it knew when a response has no or an unreadable header, and re-arms on reset', () => {
    const hook = vi.fn();
    const watch = new ExpiryWatch(DAY, hook, () => NOW);
    expect(watch.expiresAt).toBeUndefined();
    const soon = new Date(NOW + 1000).toISOString();
    watch.observe(expires(soon));
    watch.observe(new Headers());
    watch.observe(expires('garbage'));
    expect(watch.expiresAt).toEqual(new Date(soon));
    watch.reset();
    expect(watch.expiresAt).toBeUndefined();
    watch.observe(expires(soon));
    expect(hook).toHaveBeenCalledTimes(2);
  });
});
