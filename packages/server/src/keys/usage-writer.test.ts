import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { locateUsageWorker, writesUsageOffThread } from './usage-writer.js';

describe('locateUsageWorker', () => {
  it('in the sources, the TypeScript worker beside the spawning module', () => {
    expect(locateUsageWorker('file:///srv/latchkey/packages/server/src/keys/usage-writer.ts')).toEqual({
      url: new URL('file:///srv/latchkey/packages/server/src/keys/usage-writer.worker.ts'),
      typescript: true,
    });
  });

  it('in the bundle, the compiled worker beside main.js', () => {
    expect(locateUsageWorker('file:///srv/latchkey/packages/server/dist/main.js')).toEqual({
      url: new URL('file:///srv/latchkey/packages/server/dist/usage-writer.worker.js'),
      typescript: false,
    });
  });

  it('the real one exists beside usage-writer.ts', () => {
    const { url } = locateUsageWorker(new URL('./usage-writer.ts', import.meta.url).href);
    expect(existsSync(url)).toBe(true);
  });
});

describe('writesUsageOffThread', () => {
  it('only for a SQLite file', () => {
    expect(writesUsageOffThread({ kind: 'sqlite', file: '/var/lib/latchkey/latchkey.db' })).toBe(true);
    expect(writesUsageOffThread({ kind: 'sqlite', file: ':memory:' })).toBe(false);
    expect(writesUsageOffThread({ kind: 'postgres', url: 'postgres://db/latchkey', schema: 'public' })).toBe(
      false,
    );
    expect(writesUsageOffThread(undefined)).toBe(false);
  });
});
