/**
 * Certificates for a Docker engine reached over `tcp://` with TLS (`dockerd --tlsverify`): a CA,
 * a server certificate for the engine's addresses and a client certificate, written in the
 * layouts dockerd and `DOCKER_CERT_PATH` expect. ECDSA P-256, made with `@peculiar/x509`, so
 * neither openssl nor the docker CLI is needed.
 *
 * ```
 * deno run --allow-read --allow-write scripts/engine_tls.ts --out /etc/bot-bottle/vm2 \
 *   --host 198.51.100.7 --host vm2.example
 * ```
 * writes `<out>/ca.pem`, `<out>/ca-key.pem` (0600), `<out>/server/{ca,cert,key}.pem` (for
 * `dockerd --tlsverify --tlscacert … --tlscert … --tlskey …`) and `<out>/client/{ca,cert,key}.pem`
 * (the `DOCKER_CERT_PATH` of bot-bottle, or `certs=` of a `FORGE_ENGINES` entry). Keys are 0600.
 *
 * The test helper `tests/helpers/second_engine.ts` uses the same functions.
 *
 * @module
 */
import type * as X509 from "@peculiar/x509";

type X509Lib = typeof X509;
let x509Lib: Promise<X509Lib> | undefined;

/** `@peculiar/x509`, loaded after the `reflect-metadata` stand-in its `tsyringe` needs. */
function x509(): Promise<X509Lib> {
  x509Lib ??= (async () => {
    installReflectMetadata();
    const lib = await import("@peculiar/x509");
    lib.cryptoProvider.set(crypto);
    return lib;
  })();
  return x509Lib;
}

/** The three `Reflect` metadata functions `tsyringe` calls, on a WeakMap; only when absent. */
function installReflectMetadata(): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === "function") return;
  const store = new WeakMap<object, Map<unknown, unknown>>();
  const keyOf = (key: unknown, prop?: PropertyKey) => `${String(prop)}\u0000${String(key)}`;
  const getOwn = (key: unknown, target: object, prop?: PropertyKey) =>
    store.get(target)?.get(keyOf(key, prop));
  reflect.defineMetadata = (key: unknown, value: unknown, target: object, prop?: PropertyKey) => {
    let map = store.get(target);
    if (!map) store.set(target, map = new Map());
    map.set(keyOf(key, prop), value);
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

/** A CA that signs engine certificates. */
export interface EngineCa {
  certPem: string;
  keyPem: string;
  cert: X509.X509Certificate;
  key: CryptoKey;
}

/** A certificate and its key, PEM. */
export interface CertPair {
  certPem: string;
  keyPem: string;
}

/** Options of {@linkcode createEngineCa}. */
export interface CreateEngineCaOptions {
  /** The CA's common name (default `bot-bottle engine CA`). */
  name?: string;
  /** Validity in days (default 3650). */
  days?: number;
}

/** Makes a new self-signed CA. */
export async function createEngineCa(options: CreateEngineCaOptions = {}): Promise<EngineCa> {
  const x = await x509();
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${options.name ?? "bot-bottle engine CA"}, O=bot-bottle`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + (options.days ?? 3650) * 24 * 3600_000),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x.BasicConstraintsExtension(true, 0, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign, true),
      await x.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certPem: cert.toString("pem") + "\n",
    keyPem: await pkcs8Pem(keys.privateKey),
    cert,
    key: keys.privateKey,
  };
}

/** Options of {@linkcode issueEngineCert}. */
export interface IssueEngineCertOptions {
  /** `server`: serverAuth with the `hosts` as SANs; `client`: clientAuth. */
  kind: "server" | "client";
  /** IP addresses and DNS names the engine is reached by (server certificates). */
  hosts?: string[];
  /** Validity in days (default 825). */
  days?: number;
}

/**
 * Issues a server or client certificate signed by `ca`.
 *
 * @throws {Error} for a server certificate without hosts.
 */
export async function issueEngineCert(
  ca: EngineCa,
  options: IssueEngineCertOptions,
): Promise<CertPair> {
  const hosts = options.hosts ?? [];
  if (options.kind === "server" && hosts.length === 0) {
    throw new Error("A server certificate needs at least one host (an IP address or DNS name)");
  }
  const x = await x509();
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const now = Date.now();
  const extensions: X509.Extension[] = [
    new x.BasicConstraintsExtension(false, undefined, true),
    new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature, true),
    new x.ExtendedKeyUsageExtension([
      options.kind === "server" ? x.ExtendedKeyUsage.serverAuth : x.ExtendedKeyUsage.clientAuth,
    ]),
    await x.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  if (hosts.length > 0) {
    extensions.push(
      new x.SubjectAlternativeNameExtension(
        hosts.map((h) => ({ type: isIpAddress(h) ? "ip" as const : "dns" as const, value: h })),
      ),
    );
  }
  const cert = await x.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${options.kind === "server" ? hosts[0] : "bot-bottle client"}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + (options.days ?? 825) * 24 * 3600_000),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: ALGORITHM,
    extensions,
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await pkcs8Pem(keys.privateKey) };
}

/** Where {@linkcode writeEngineCerts} put the files. */
export interface EngineCertPaths {
  /** The CA certificate and key (keep the key off the engine and the client). */
  caCert: string;
  caKey: string;
  /** `ca.pem`, `cert.pem`, `key.pem` for `dockerd --tlscacert/--tlscert/--tlskey`. */
  serverDir: string;
  /** `ca.pem`, `cert.pem`, `key.pem`: a `DOCKER_CERT_PATH`. */
  clientDir: string;
}

/**
 * Writes a new CA, a server certificate for `hosts` and a client certificate under `dir`
 * (created; keys 0600).
 */
export async function writeEngineCerts(dir: string, hosts: string[]): Promise<EngineCertPaths> {
  const ca = await createEngineCa();
  const server = await issueEngineCert(ca, { kind: "server", hosts });
  const client = await issueEngineCert(ca, { kind: "client" });
  const paths: EngineCertPaths = {
    caCert: `${dir}/ca.pem`,
    caKey: `${dir}/ca-key.pem`,
    serverDir: `${dir}/server`,
    clientDir: `${dir}/client`,
  };
  await Deno.mkdir(paths.serverDir, { recursive: true, mode: 0o700 });
  await Deno.mkdir(paths.clientDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(paths.caCert, ca.certPem, { mode: 0o644 });
  await Deno.writeTextFile(paths.caKey, ca.keyPem, { mode: 0o600 });
  await writeCertDir(paths.serverDir, ca.certPem, server);
  await writeCertDir(paths.clientDir, ca.certPem, client);
  return paths;
}

/** Writes `ca.pem`, `cert.pem` and `key.pem` (0600) into `dir`, the `DOCKER_CERT_PATH` layout. */
export async function writeCertDir(dir: string, caPem: string, pair: CertPair): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(`${dir}/ca.pem`, caPem, { mode: 0o644 });
  await Deno.writeTextFile(`${dir}/cert.pem`, pair.certPem, { mode: 0o644 });
  await Deno.writeTextFile(`${dir}/key.pem`, pair.keyPem, { mode: 0o600 });
}

function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return (await x509()).PemConverter.encode(der, "PRIVATE KEY") + "\n";
}

/** 16 random bytes, hex, first bit clear (a positive INTEGER). */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const USAGE = "Usage: deno run --allow-read --allow-write scripts/engine_tls.ts --out DIR " +
  "--host ADDRESS [--host NAME …]";

if (import.meta.main) {
  const args = [...Deno.args];
  let out = "";
  const hosts: string[] = [];
  while (args.length > 0) {
    const flag = args.shift();
    const value = args.shift();
    if (value === undefined || (flag !== "--out" && flag !== "--host")) {
      console.error(`engine_tls: error: bad arguments\n${USAGE}`);
      Deno.exit(2);
    }
    if (flag === "--out") out = value;
    else hosts.push(value);
  }
  if (!out || hosts.length === 0) {
    console.error(`engine_tls: error: --out and at least one --host are required\n${USAGE}`);
    Deno.exit(2);
  }
  const paths = await writeEngineCerts(out, hosts);
  console.log(`CA:     ${paths.caCert} (key ${paths.caKey}: keep it safe)`);
  console.log(
    `engine: dockerd --tlsverify --tlscacert ${paths.serverDir}/ca.pem ` +
      `--tlscert ${paths.serverDir}/cert.pem --tlskey ${paths.serverDir}/key.pem -H tcp://0.0.0.0:2376`,
  );
  console.log(
    `client: DOCKER_HOST=tcp://${hosts[0]}:2376 DOCKER_TLS_VERIFY=1 ` +
      `DOCKER_CERT_PATH=${paths.clientDir}`,
  );
}
