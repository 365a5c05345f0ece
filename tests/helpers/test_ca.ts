/**
 * The test CA: one ECDSA P-256 certificate authority per machine, kept at
 * `${TMPDIR:-/tmp}/bot-bottle-test-ca-v1/{ca.crt,ca.key}` so every test run (and every image built
 * with it in `BOT_BOTTLE_EXTRA_CA_CERTS`) sees the same certificate. It is created once,
 * atomically (written into a private temporary directory that is then renamed into place; a
 * process that loses the race uses the winner's), and reused afterwards.
 *
 * {@linkcode leafFor} signs server certificates for fixture upstreams (`tests/helpers/upstream.ts`),
 * so the sidecar — which trusts `BOT_BOTTLE_EXTRA_CA_CERTS` for its upstream TLS — accepts them.
 *
 * The key is test material only: it never signs anything but test fixtures' certificates.
 *
 * `@peculiar/x509` needs a `Reflect` metadata polyfill (its dependency `tsyringe` refuses to load
 * without one); the few functions it calls are provided here and the library is imported on first
 * use, so importing this module (as `cli.ts` does) costs nothing.
 *
 * @module
 */
import type * as X509 from "@peculiar/x509";

type X509Lib = typeof X509;
let x509Lib: Promise<X509Lib> | undefined;

/** `@peculiar/x509`, loaded after the metadata polyfill, with WebCrypto as its provider. */
function x509(): Promise<X509Lib> {
  x509Lib ??= (async () => {
    installReflectMetadata();
    const lib = await import("@peculiar/x509");
    lib.cryptoProvider.set(crypto);
    return lib;
  })();
  return x509Lib;
}

/**
 * The part of the `reflect-metadata` API that `tsyringe` uses (`defineMetadata`, `getMetadata`,
 * `getOwnMetadata`), backed by a WeakMap; installed only when absent.
 */
function installReflectMetadata(): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === "function") return;
  const store = new WeakMap<object, Map<PropertyKey | undefined, Map<unknown, unknown>>>();
  const table = (target: object, prop: PropertyKey | undefined, create: boolean) => {
    let byProp = store.get(target);
    if (!byProp && create) store.set(target, byProp = new Map());
    let byKey = byProp?.get(prop);
    if (!byKey && create) byProp!.set(prop, byKey = new Map());
    return byKey;
  };
  const getOwn = (key: unknown, target: object, prop?: PropertyKey) =>
    table(target, prop, false)?.get(key);
  reflect.defineMetadata = (key: unknown, value: unknown, target: object, prop?: PropertyKey) => {
    table(target, prop, true)!.set(key, value);
  };
  reflect.getOwnMetadata = getOwn;
  reflect.getMetadata = (key: unknown, target: object, prop?: PropertyKey) => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t)) {
      const value = getOwn(key, t, prop);
      if (value !== undefined) return value;
    }
    return undefined;
  };
}

const ALGORITHM: EcKeyGenParams & EcdsaParams = {
  name: "ECDSA",
  namedCurve: "P-256",
  hash: "SHA-256",
};

/** The subject common name of the test CA (tests can tell its leaves from the bottle CA's). */
export const TEST_CA_NAME = "bot-bottle test CA v1";

/** Where the test CA lives: `${TMPDIR:-/tmp}/bot-bottle-test-ca-v1`. */
export function testCaDir(): string {
  return `${Deno.env.get("TMPDIR") ?? "/tmp"}/bot-bottle-test-ca-v1`;
}

/** The path of the test CA's certificate (PEM). */
export function testCaCertPath(): string {
  return `${testCaDir()}/ca.crt`;
}

/** The test CA, loaded. */
export interface TestCa {
  dir: string;
  certPath: string;
  keyPath: string;
  certPem: string;
  cert: X509.X509Certificate;
  key: CryptoKey;
}

/** A server certificate and its key, PEM. */
export interface LeafPem {
  certPem: string;
  keyPem: string;
}

let cached: Promise<TestCa> | undefined;

/**
 * Returns the machine's test CA, creating it the first time.
 *
 * @throws {Error} when the directory exists but holds no readable CA.
 */
export function ensureTestCa(): Promise<TestCa> {
  cached ??= loadOrCreate().catch((error) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function loadOrCreate(): Promise<TestCa> {
  const dir = testCaDir();
  if (!(await exists(`${dir}/ca.crt`))) {
    const parent = dir.slice(0, dir.lastIndexOf("/")) || "/";
    await Deno.mkdir(parent, { recursive: true });
    const staging = await Deno.makeTempDir({ dir: parent, prefix: ".bot-bottle-test-ca-" });
    try {
      const { certPem, keyPem } = await createCa();
      await Deno.writeTextFile(`${staging}/ca.key`, keyPem, { mode: 0o600 });
      await Deno.writeTextFile(`${staging}/ca.crt`, certPem, { mode: 0o644 });
      await Deno.chmod(staging, 0o755);
      try {
        await Deno.rename(staging, dir);
      } catch (error) {
        // Another process renamed its CA into place first (ENOTEMPTY/EEXIST): use that one.
        if (!(await exists(`${dir}/ca.crt`))) throw error;
      }
    } finally {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
    }
  }
  return await load(dir);
}

async function load(dir: string): Promise<TestCa> {
  const lib = await x509();
  const certPem = await Deno.readTextFile(`${dir}/ca.crt`);
  const keyPem = await Deno.readTextFile(`${dir}/ca.key`);
  const cert = new lib.X509Certificate(certPem);
  const key = await crypto.subtle.importKey(
    "pkcs8",
    lib.PemConverter.decodeFirst(keyPem),
    ALGORITHM,
    false,
    ["sign"],
  );
  return { dir, certPath: `${dir}/ca.crt`, keyPath: `${dir}/ca.key`, certPem, cert, key };
}

async function createCa(): Promise<LeafPem> {
  const x = await x509();
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${TEST_CA_NAME}, O=bot-bottle tests`,
    notBefore: new Date(now - 24 * 3600_000),
    notAfter: new Date(now + 20 * 365 * 24 * 3600_000),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x.BasicConstraintsExtension(true, 0, true),
      new x.KeyUsagesExtension(
        x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign,
        true,
      ),
      await x.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await pkcs8Pem(keys.privateKey) };
}

/**
 * A server certificate for `hosts` (SAN dNSNames, and iPAddresses for IP literals such as the
 * bridge gateway; serverAuth), signed by the test CA, valid for 30 days from an hour ago.
 *
 * @throws {Error} when `hosts` is empty or the CA cannot be loaded.
 */
export async function leafFor(hosts: string[]): Promise<LeafPem> {
  if (hosts.length === 0) throw new Error("leafFor needs at least one host name");
  const ca = await ensureTestCa();
  const x = await x509();
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${hosts[0]}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 30 * 24 * 3600_000),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x.BasicConstraintsExtension(false, undefined, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature, true),
      new x.ExtendedKeyUsageExtension([x.ExtendedKeyUsage.serverAuth]),
      new x.SubjectAlternativeNameExtension(
        hosts.map((h) => ({ type: isIpLiteral(h) ? "ip" as const : "dns" as const, value: h })),
      ),
      await x.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await pkcs8Pem(keys.privateKey) };
}

/** Whether `host` is an IPv4 or IPv6 literal (not a DNS name). */
function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return (await x509()).PemConverter.encode(der, "PRIVATE KEY") + "\n";
}

/** 16 random bytes, hex, first bit clear (a positive INTEGER). */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * An HTTPS server on all interfaces (the bottle's sidecar reaches it through the bridge
 * gateway) with a leaf of the test CA for `hosts`, a free port, stopped by `signal`; a handler
 * that throws answers 500 naming the error.
 */
export async function serveTestTls(
  hosts: string[],
  signal: AbortSignal,
  handler: Deno.ServeHandler,
): Promise<Deno.HttpServer<Deno.NetAddr>> {
  const leaf = await leafFor(hosts);
  return Deno.serve({
    hostname: "0.0.0.0",
    port: 0,
    cert: leaf.certPem,
    key: leaf.keyPem,
    signal,
    onListen: () => {},
    onError: (error) => new Response(`fixture error: ${error}`, { status: 500 }),
  }, handler);
}
