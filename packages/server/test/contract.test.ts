import { CONTRACT, CORE_HANDLERS, handlerCoverage, listOperations } from '@latchkey/core';
import { describe, expect, it } from 'vitest';
import { docsHandlers } from '../src/handlers/docs.handlers.js';

describe('contract and handlers', () => {
  it('answers every operationId of openapi.yaml, with the core handlers and its own pages, and nothing else', () => {
    const ids = listOperations(CONTRACT).map((op) => op.operationId);
    expect(handlerCoverage(ids, { ...CORE_HANDLERS, ...docsHandlers })).toEqual({ missing: [], extra: [] });
  });
});
