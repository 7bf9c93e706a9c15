import { CONTRACT, CORE_HANDLERS, handlerCoverage, listOperations } from '@latchkey/core';
import { describe, expect, it } from 'vitest';
import { docsHandlers } from '../src/handlers/docs.handlers.js';
import { metaHandlers } from '../src/handlers/meta.handlers.js';
import { NO_METRICS } from '../src/metrics/metrics.js';

describe('contract and handlers', () => {
  it('answers every operationId of openapi.yaml, with the core handlers and its own pages, and nothing else', () => {
    const ids = listOperations(CONTRACT).map((op) => op.operationId);
    const own = { ...docsHandlers, ...metaHandlers({ metrics: NO_METRICS, setting: { mode: 'off' } }) };
    expect(handlerCoverage(ids, { ...CORE_HANDLERS, ...own })).toEqual({ missing: [], extra: [] });
  });

  it('declares 400 and 500 on every operation, and 503 on every one that uses the database', () => {
    // Operations that read nothing from the database; /health answers its own 503 with a Health body.
    const noStorage = new Set(['getRoot', 'getMeta', 'getMetrics', 'getOpenApiJson', 'getOpenApiYaml']);
    for (const id of ['getDocs', 'getRedoc', 'getErrorPage', 'getHealth']) noStorage.add(id);
    const missing: string[] = [];
    for (const op of listOperations(CONTRACT)) {
      const statuses = Object.keys(op.operation.responses);
      for (const status of ['400', '500', ...(noStorage.has(op.operationId) ? [] : ['503'])]) {
        if (!statuses.includes(status)) missing.push(`${op.operationId} ${status}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
