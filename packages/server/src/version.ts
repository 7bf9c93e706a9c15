import { readFileSync } from 'node:fs';
import { PACKAGE_ROOT } from './paths.js';

const pkg = JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as {
  version: string;
};

/** The server package's version. */
export const VERSION: string = pkg.version;
