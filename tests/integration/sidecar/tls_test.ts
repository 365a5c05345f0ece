/**
 * Real TLS over loopback with the sidecar's leaf certificates: a `node:tls` server `TLSSocket`
 * on an already-accepted `node:net` socket (the form the egress proxy needs for a `CONNECT`
 * tunnel, SPEC §7.1, LESSONS 36), clients from `Deno.startTls` and curl, and the host-side
 * `writeBottleCa` file modes. Only loopback addresses and `.test` names.
 */

import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import tls from "node:tls";
import {
  CA_CERT_FILE,
  CA_DIR,
  CA_KEY_FILE,
  mintBottleCa,
  writeBottleCa,
} from "../../../src/bottle/ca.ts";
import { importCa, LeafCache, mintLeaf } from "../../../src/sidecar/pki/mod.ts";
import { withDeadline } from "../../helpers/deadline.ts";

const HOST = "api.example.test";
/** Only a safety net: every wait ends on the handshake or bytes it waits for. */
const DEADLINE_MS = 30_000;

/** Rejects with a message naming what was awaited when `promise` takes too long. */
const within = <T>(what: string, promise: Promise<T>, ms = DEADLINE_MS): Promise<T> =>
  withDeadline(promise, what, ms);

/** What the server saw on one connection. */
interface Seen {
  servername?: string;
  alpn?: string | false | null;
  firstByte?: number;
  request?: string;
  error?: string;
}

interface ServerOptions {
  /** Pick the context per SNI name (default), or always serve this one context. */
  fixed?: tls.SecureContext;
  /** Read the first bytes off the TCP socket and push them back before TLS starts. */
  peek?: boolean;
}

/**
 * Wraps an accepted TCP socket in a server TLSSocket and answers one HTTP/1.1 request with
 * `ok <request line>`; records what it saw.
 */
function serveTls(socket: net.Socket, cache: LeafCache, options: ServerOptions, seen: Seen[]) {
  const record: Seen = {};
  seen.push(record);
  const start = () => {
    const tlsOptions: tls.TLSSocketOptions = { isServer: true, ALPNProtocols: ["http/1.1"] };
    if (options.fixed) {
      tlsOptions.secureContext = options.fixed;
    } else {
      tlsOptions.SNICallback = (name, done) => {
        cache.secureContextFor(name).then((context) => done(null, context), (error) => done(error));
      };
    }
    const secure = new tls.TLSSocket(socket, tlsOptions);
    secure.on("secure", () => {
      record.servername = (secure as unknown as { servername?: string }).servername;
      record.alpn = secure.alpnProtocol;
    });
    secure.on("error", (error) => {
      record.error = error.message;
      secure.destroy();
    });
    let buffered = "";
    secure.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      if (!buffered.includes("\r\n\r\n")) return;
      record.request = buffered;
      const body = `ok ${buffered.split("\r\n")[0]}`;
      secure.end(
        `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n` +
          `connection: close\r\n\r\n${body}`,
      );
    });
    secure.on("end", () => secure.end());
  };
  if (!options.peek) return start();
  socket.once("data", (first: Buffer) => {
    record.firstByte = first[0];
    socket.pause();
    socket.unshift(first);
    start();
  });
}

/** A TLS-terminating loopback server: plain `node:net` accept, then {@linkcode serveTls}. */
async function tlsServer(cache: LeafCache, options: ServerOptions = {}) {
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    serveTls(socket, cache, options, seen);
  });
  await within(
    "the TLS test server to listen",
    new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)),
  );
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A bottle CA, imported as the sidecar imports it, and a leaf cache over it. */
async function fixtureCa() {
  const pem = await mintBottleCa("tls-test");
  const ca = await importCa(pem.certPem, pem.keyPem);
  return { pem, ca, cache: new LeafCache(ca) };
}

/** Reads from a TLS connection until the peer closes it. */
async function readAll(conn: Deno.TlsConn | Deno.Conn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(16 * 1024);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}

/** `Deno.connect` to 127.0.0.1 + `Deno.startTls` naming `servername`, one GET, the response. */
async function httpsGet(
  port: number,
  servername: string,
  caCerts: string[],
  alpnProtocols = ["http/1.1"],
): Promise<{ alpn: string | null; response: string }> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  const conn = await Deno.startTls(tcp, { hostname: servername, caCerts, alpnProtocols });
  try {
    const handshake = await within(`the TLS handshake for "${servername}"`, conn.handshake());
    await conn.write(
      new TextEncoder().encode(`GET /probe HTTP/1.1\r\nhost: ${servername}\r\n\r\n`),
    );
    return { alpn: handshake.alpnProtocol, response: await within("the response", readAll(conn)) };
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

Deno.test("a server TLSSocket on an accepted TCP socket completes a handshake Deno.startTls verifies", async () => {
  const { pem, cache } = await fixtureCa();
  await using server = await tlsServer(cache);
  const { alpn, response } = await httpsGet(server.port, HOST, [pem.certPem], ["h2", "http/1.1"]);
  assert.equal(alpn, "http/1.1", "only http/1.1 is offered by the server");
  assert.match(response, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(response, /ok GET \/probe HTTP\/1\.1$/, "the server read the plaintext request");
  assert.equal(server.seen[0].servername, HOST);
  assert.equal(server.seen[0].alpn, "http/1.1");
  assert.match(server.seen[0].request ?? "", new RegExp(`host: ${HOST}\r\n`));
});

Deno.test("a client asking for another name rejects the leaf", async () => {
  const { pem, ca, cache } = await fixtureCa();
  const leaf = await mintLeaf(ca, HOST);
  const fixed = tls.createSecureContext({ cert: leaf.certPem, key: leaf.keyPem });
  await using server = await tlsServer(cache, { fixed });
  await assert.rejects(
    () => httpsGet(server.port, "other.example.test", [pem.certPem]),
    /certificate not valid for name "other\.example\.test"/,
  );
  // The same server and leaf work for the right name, so the failure is the name check.
  const { response } = await httpsGet(server.port, HOST, [pem.certPem]);
  assert.match(response, /^HTTP\/1\.1 200 OK/);
});

Deno.test("a client trusting another CA rejects the leaf", async () => {
  const { cache } = await fixtureCa();
  const stranger = await mintBottleCa("tls-stranger");
  await using server = await tlsServer(cache);
  await assert.rejects(
    () => httpsGet(server.port, HOST, [stranger.certPem]),
    /invalid peer certificate: UnknownIssuer/,
  );
});

Deno.test("one cached leaf and secure context serve many handshakes", async () => {
  const { pem, ca } = await fixtureCa();
  let mints = 0;
  const cache = new LeafCache(ca, {
    mint: (ca, host, options) => {
      mints++;
      return mintLeaf(ca, host, options);
    },
  });
  await using server = await tlsServer(cache);
  const results = await Promise.all(
    [1, 2, 3].map(() => httpsGet(server.port, HOST, [pem.certPem])),
  );
  for (const { response } of results) assert.match(response, /^HTTP\/1\.1 200 OK/);
  await httpsGet(server.port, HOST, [pem.certPem]);
  assert.equal(mints, 1);
});

Deno.test("bytes read off the TCP socket before TLS can be pushed back (ClientHello peek)", async () => {
  const { pem, cache } = await fixtureCa();
  await using server = await tlsServer(cache, { peek: true });
  const { response } = await httpsGet(server.port, HOST, [pem.certPem]);
  assert.match(response, /ok GET \/probe/);
  assert.equal(server.seen[0].firstByte, 0x16, "a TLS handshake record starts with 0x16");
});

/** A `node:http` proxy that terminates every CONNECT tunnel with a leaf for its host. */
async function connectProxy(cache: LeafCache) {
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on("connect", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length > 0) socket.unshift(head);
    const host = (req.url ?? "").replace(/:\d+$/, "");
    cache.secureContextFor(host).then(
      (fixed) => serveTls(socket, cache, { fixed }, seen),
      () => socket.destroy(),
    );
  });
  await within(
    "the CONNECT proxy to listen",
    new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)),
  );
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

Deno.test("a CONNECT tunnel from node:http's connect event is TLS-terminated with a leaf", async () => {
  const { pem, cache } = await fixtureCa();
  await using proxy = await connectProxy(cache);
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  await tcp.write(
    new TextEncoder().encode(`CONNECT ${HOST}:443 HTTP/1.1\r\nhost: ${HOST}:443\r\n\r\n`),
  );
  let head = "";
  const byte = new Uint8Array(1);
  while (!head.endsWith("\r\n\r\n")) {
    const n = await within("the CONNECT answer", tcp.read(byte));
    if (n === null) throw new Error(`Proxy closed the tunnel after ${JSON.stringify(head)}`);
    head += String.fromCharCode(byte[0]);
  }
  assert.match(head, /^HTTP\/1\.1 200 /);
  const conn = await Deno.startTls(tcp, {
    hostname: HOST,
    caCerts: [pem.certPem],
    alpnProtocols: ["http/1.1"],
  });
  try {
    assert.equal(
      (await within("the tunnelled handshake", conn.handshake())).alpnProtocol,
      "http/1.1",
    );
    await conn.write(new TextEncoder().encode(`GET /tunnel HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`));
    assert.match(
      await within("the tunnelled response", readAll(conn)),
      /ok GET \/tunnel HTTP\/1\.1$/,
    );
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
  assert.equal(proxy.seen[0].servername, HOST);
});

/** Runs curl, or returns undefined when it is not installed. */
async function curl(args: string[]): Promise<Deno.CommandOutput | undefined> {
  try {
    const child = new Deno.Command("curl", { args, stdout: "piped", stderr: "piped" }).spawn();
    return await within("curl", child.output(), 90_000);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

Deno.test("curl trusts the leaf with --cacert ca.crt, directly and through CONNECT", async () => {
  const { pem, cache } = await fixtureCa();
  const dir = await Deno.makeTempDir({ prefix: "bb-tls-" });
  try {
    const { certPath } = await writeBottleCa(dir, pem);
    await using server = await tlsServer(cache);
    const direct = await curl([
      "--silent",
      "--show-error",
      "--http1.1",
      "--max-time",
      "60",
      "--noproxy",
      "*",
      "--cacert",
      certPath,
      "--resolve",
      `${HOST}:${server.port}:127.0.0.1`,
      `https://${HOST}:${server.port}/curl`,
    ]);
    if (direct === undefined) {
      console.warn("curl not installed: skipping the curl checks");
      return;
    }
    assert.equal(direct.code, 0, new TextDecoder().decode(direct.stderr));
    assert.equal(new TextDecoder().decode(direct.stdout), "ok GET /curl HTTP/1.1");

    await using proxy = await connectProxy(cache);
    const tunnelled = await curl([
      "--silent",
      "--show-error",
      "--http1.1",
      "--max-time",
      "60",
      "--cacert",
      certPath,
      "--proxy",
      `http://127.0.0.1:${proxy.port}`,
      `https://${HOST}/via-proxy`,
    ]);
    assert.equal(tunnelled?.code, 0, new TextDecoder().decode(tunnelled?.stderr));
    assert.equal(new TextDecoder().decode(tunnelled!.stdout), "ok GET /via-proxy HTTP/1.1");

    const strangerDir = `${dir}/stranger`;
    const stranger = await writeBottleCa(strangerDir, await mintBottleCa("tls-stranger"));
    const otherCa = await curl([
      "--silent",
      "--show-error",
      "--http1.1",
      "--max-time",
      "60",
      "--noproxy",
      "*",
      "--cacert",
      stranger.certPath,
      "--resolve",
      `${HOST}:${server.port}:127.0.0.1`,
      `https://${HOST}:${server.port}/`,
    ]);
    assert.equal(otherCa?.code, 60, "curl refuses a leaf from a CA it was not given (exit 60)");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeBottleCa writes ca/ 0700, ca.key 0600 and ca.crt 0644, replacing loose files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bb-ca-" });
  try {
    const first = await mintBottleCa("tls-test");
    const paths = await writeBottleCa(dir, first);
    assert.equal(paths.keyPath, `${dir}/${CA_DIR}/${CA_KEY_FILE}`);
    assert.equal(paths.certPath, `${dir}/${CA_DIR}/${CA_CERT_FILE}`);
    const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;
    assert.equal(await mode(`${dir}/${CA_DIR}`), 0o700);
    assert.equal(await mode(paths.keyPath), 0o600);
    assert.equal(await mode(paths.certPath), 0o644);
    assert.equal(await Deno.readTextFile(paths.keyPath), first.keyPem);
    assert.equal(await Deno.readTextFile(paths.certPath), first.certPem);

    await Deno.chmod(`${dir}/${CA_DIR}`, 0o755);
    await Deno.chmod(paths.keyPath, 0o666);
    const second = await mintBottleCa("tls-test");
    await writeBottleCa(dir, second);
    assert.equal(await mode(`${dir}/${CA_DIR}`), 0o700);
    assert.equal(await mode(paths.keyPath), 0o600, "a loose key file is replaced, not reused");
    assert.equal(await Deno.readTextFile(paths.keyPath), second.keyPem);
    const names = [];
    for await (const entry of Deno.readDir(`${dir}/${CA_DIR}`)) names.push(entry.name);
    assert.deepEqual(names.sort(), [CA_CERT_FILE, CA_KEY_FILE], "no temporary files left");

    // What the host wrote is what the sidecar loads.
    const ca = await importCa(
      await Deno.readTextFile(paths.certPath),
      await Deno.readTextFile(paths.keyPath),
    );
    assert.ok((await mintLeaf(ca, HOST)).certPem.startsWith("-----BEGIN CERTIFICATE-----"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
