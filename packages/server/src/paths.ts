/**
 * Files the server reads from the repository: the contract, the docs and its own
 * package.json. This module sits one folder below the package root, as the compiled bundle
 * (`dist/main.js`) does, so the same relative URLs hold for the sources and for the bundle.
 */
export const PACKAGE_ROOT = new URL('../', import.meta.url);
export const REPOSITORY_ROOT = new URL('../../../', import.meta.url);
