import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A login in front of a sandbox database: PGlite's socket server trusts every connection, but a Redshift
 * cluster accepts only the temporary credentials GetClusterCredentials issued, while they are valid. The gate
 * listens on loopback, speaks the start of the PostgreSQL wire protocol itself (startup message, a cleartext
 * password request, as Redshift asks over TLS), checks the login, and only then connects the client to the
 * database, as the user PGlite knows, and relays bytes both ways. A refused login gets PostgreSQL's own
 * answer (FATAL 28P01), so the probe's `pg` client fails exactly as against a real server.
 *
 * Hand-written because no library puts a password check in front of pglite-socket; it handles only what
 * `pg` sends before authentication (an optional SSLRequest, the startup message, the password message).
 */

export interface Login {
  user: string;
  password: string;
  database: string;
}

export interface Gate {
  host: string;
  port: number;
  close(): Promise<void>;
}

const SSL_REQUEST_CODE = 80877103;
const PROTOCOL_3 = 196608;

/** `{key: value}` of a startup message's body (after its length and protocol version). */
function startupParameters(body: Buffer): Record<string, string> {
  const parts = body.toString('utf8').split('\0');
  const parameters: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const key = parts[i];
    if (!key) break;
    parameters[key] = parts[i + 1] ?? '';
  }
  return parameters;
}

function startupMessage(parameters: Record<string, string>): Buffer {
  const body = Buffer.from(
    `${Object.entries(parameters)
      .map(([key, value]) => `${key}\0${value}\0`)
      .join('')}\0`,
    'utf8',
  );
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + body.length, 0);
  header.writeInt32BE(PROTOCOL_3, 4);
  return Buffer.concat([header, body]);
}

function authenticationCleartextPassword(): Buffer {
  const message = Buffer.alloc(9);
  message.write('R', 0, 'ascii');
  message.writeInt32BE(8, 1);
  message.writeInt32BE(3, 5);
  return message;
}

function passwordFailed(user: string): Buffer {
  const fields = [
    'SFATAL',
    'VFATAL',
    'C28P01',
    `Mpassword authentication failed for user "${user.replaceAll('"', '')}"`,
  ];
  const body = Buffer.from(`${fields.join('\0')}\0\0`, 'utf8');
  const header = Buffer.alloc(5);
  header.write('E', 0, 'ascii');
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

/**
 * Serves `backend` on another loopback port behind a password check. `backendLogin` is who the gate logs in
 * as (PGlite's user and database); `accepts` decides each client's login.
 */
export async function passwordGate(
  backend: { host: string; port: number; user: string; database: string },
  accepts: (login: Login) => boolean,
): Promise<Gate> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    let pending = Buffer.alloc(0);
    let parameters: Record<string, string> | undefined;
    const onData = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!parameters) {
        if (pending.length < 8) return;
        const length = pending.readInt32BE(0);
        if (pending.length < length) return;
        const code = pending.readInt32BE(4);
        if (code === SSL_REQUEST_CODE) {
          // No TLS on loopback: the client goes on in plain text (pg's ssl: false never asks).
          pending = pending.subarray(length);
          client.write('N');
          return;
        }
        if (code !== PROTOCOL_3) return client.destroy();
        parameters = startupParameters(pending.subarray(8, length));
        pending = pending.subarray(length);
        client.write(authenticationCleartextPassword());
      }
      if (pending.length < 5) return;
      const length = pending.readInt32BE(1);
      if (pending.length < 1 + length) return;
      if (pending.toString('ascii', 0, 1) !== 'p') return client.destroy();
      const password = pending.toString('utf8', 5, length).replace(/\0$/, '');
      const rest = pending.subarray(1 + length);
      client.off('data', onData);
      // Nothing more comes before AuthenticationOk; held until the relay's pipe resumes it.
      client.pause();
      const login = {
        user: parameters.user ?? '',
        password,
        database: parameters.database ?? parameters.user ?? '',
      };
      if (!accepts(login)) {
        client.end(passwordFailed(login.user));
        return;
      }
      const upstream = connect(backend.port, backend.host, () => {
        upstream.write(
          startupMessage({
            user: backend.user,
            database: backend.database,
            ...(parameters?.application_name ? { application_name: parameters.application_name } : {}),
          }),
        );
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      track(upstream);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = address && typeof address === 'object' ? address.port : 0;
  return {
    host: '127.0.0.1',
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
