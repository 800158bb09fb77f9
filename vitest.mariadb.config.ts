import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:mariadb`: the probe's mysql2 path against a real MariaDB (Debian's mariadb-server, started by the
 * test on loopback; .ci/run installs the package). Not part of `npm test`, which needs nothing installed.
 */
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/mariadb/**/*.test.ts'], exclude: configDefaults.exclude },
});
