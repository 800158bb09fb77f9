import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';

/**
 * A private MariaDB server for `npm run test:mariadb`: Debian's mariadb-server binaries (installed by .ci/run;
 * `apt-get install mariadb-server` elsewhere), a fresh data directory in the temp dir, loopback only, on a free
 * port, never the system service. The probe's mysql2 path then runs against a real MariaDB, which really
 * enforces read-only transactions and max_statement_time (PGlite, the sandbox's engine, is PostgreSQL only).
 */
export interface MariaDbServer {
  host: string;
  port: number;
  /** An administrative connection (root, no password, over the server's own socket). */
  admin: () => Promise<mysql.Connection>;
  stop: () => Promise<void>;
}

/** A binary of the mariadb-server package, or a one-line reason to install it. */
function binary(name: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name} || ls /usr/sbin/${name}`], { encoding: 'utf8' })
      .trim()
      .split('\n')[0] as string;
  } catch {
    throw new Error(
      `${name} not found: npm run test:mariadb needs Debian's mariadb-server (apt-get install mariadb-server; .ci/run installs it)`,
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startMariaDb(): Promise<MariaDbServer> {
  const installDb = binary('mariadb-install-db');
  const daemon = binary('mariadbd');
  const dir = mkdtempSync(join(tmpdir(), 'pilotlight-mariadb-'));
  const datadir = join(dir, 'data');
  const socket = join(dir, 'mariadb.sock');
  const asUser = process.getuid?.() === 0 ? ['--user=root'] : [];
  execFileSync(
    installDb,
    [
      '--no-defaults',
      `--datadir=${datadir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...asUser,
    ],
    { stdio: 'ignore' },
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    daemon,
    [
      '--no-defaults',
      `--datadir=${datadir}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      `--pid-file=${join(dir, 'mariadb.pid')}`,
      ...asUser,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Ready when the server says so on stderr; an exit before that is the error.
  await new Promise<void>((resolve, reject) => {
    let said = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('ready for connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`mariadbd exited with ${code}: ${said.slice(-500)}`)));
  });
  const stopped = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    host: '127.0.0.1',
    port,
    admin: () => mysql.createConnection({ socketPath: socket, user: 'root', multipleStatements: true }),
    stop: async () => {
      child.kill('SIGTERM');
      await stopped;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
