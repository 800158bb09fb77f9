import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/** `npm run test:browser`: the report in headless Chromium (Debian's chromium package, driven by playwright-core). */
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/browser/**/*.test.ts'], exclude: configDefaults.exclude },
});
