// Builds the console into dist/, served by the server at /console. `pnpm dev` serves it with
// hot reload and sends the API's paths to LATCHKEY_API_URL (a server, or `latchkey-mock`).
import { defineConfig } from 'vite';

const api = process.env.LATCHKEY_API_URL ?? 'http://127.0.0.1:8800';
const proxied = ['/api', '/docs', '/health', '/openapi.json'];

export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inline script anywhere: the server's CSP allows scripts from the origin only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
  },
  server: { proxy: Object.fromEntries(proxied.map((p) => [p, { target: api, changeOrigin: false }])) },
  preview: { proxy: Object.fromEntries(proxied.map((p) => [p, { target: api, changeOrigin: false }])) },
});
