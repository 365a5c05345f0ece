/**
 * git's smart HTTP for the gate (SPEC §8), through the image's own `git http-backend` (CGI):
 * only the three smart endpoints of configured repositories are served; the advertisement of
 * either service first refreshes the mirror from its upstream, and a failure reaches the client
 * as an `ERR` packet, which git prints as `fatal: remote error: …`. The CGI output streams back
 * as it comes, so the hook's progress and verdict (sideband `remote:` lines) arrive at once.
 *
 * @module
 */

/** What a request asks for, or null when it is not a smart-HTTP request of the gate. */
export interface SmartRequest {
  repo: string;
  service: "git-upload-pack" | "git-receive-pack";
  /** `info/refs` (the advertisement) or the service's POST. */
  advertisement: boolean;
}

const PATH = /^\/([a-z0-9][a-z0-9._-]{0,63})\.git\/+(info\/refs|git-upload-pack|git-receive-pack)$/;

/** Parses a request line of the gate. */
export function smartRequest(method: string, path: string, query: string): SmartRequest | null {
  const m = PATH.exec(path);
  if (!m) return null;
  if (m[2] === "info/refs") {
    if (method !== "GET" && method !== "HEAD") return null;
    const service = new URLSearchParams(query).get("service");
    if (service !== "git-upload-pack" && service !== "git-receive-pack") return null;
    return { repo: m[1], service, advertisement: true };
  }
  if (method !== "POST") return null;
  return { repo: m[1], service: m[2] as SmartRequest["service"], advertisement: false };
}

/** One pkt-line. */
export function pktLine(payload: string): string {
  const bytes = new TextEncoder().encode(payload).length + 4;
  return bytes.toString(16).padStart(4, "0") + payload;
}

/** An advertisement that makes git print `fatal: remote error: <message>`. */
export function errorAdvertisement(service: string, message: string): Response {
  const oneLine = message.replace(/\s+/g, " ").slice(0, 900);
  return new Response(`${pktLine(`# service=${service}\n`)}0000${pktLine(`ERR ${oneLine}`)}`, {
    status: 200,
    headers: {
      "content-type": `application/x-${service}-advertisement`,
      "cache-control": "no-cache",
    },
  });
}

/** The CGI environment of `git http-backend` for one request. */
export function cgiEnv(
  request: Request,
  url: URL,
  gitRoot: string,
  base: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {
    ...base,
    GIT_PROJECT_ROOT: gitRoot,
    GIT_HTTP_EXPORT_ALL: "1",
    GIT_HTTP_MAX_REQUEST_BUFFER: "100M",
    GATEWAY_INTERFACE: "CGI/1.1",
    REQUEST_METHOD: request.method,
    PATH_INFO: url.pathname,
    QUERY_STRING: url.search.replace(/^\?/, ""),
    REMOTE_USER: "agent",
    REMOTE_ADDR: "agent",
    CONTENT_TYPE: request.headers.get("content-type") ?? "",
  };
  const length = request.headers.get("content-length");
  if (length !== null && /^\d+$/.test(length)) env.CONTENT_LENGTH = length;
  const encoding = request.headers.get("content-encoding");
  if (encoding !== null) env.HTTP_CONTENT_ENCODING = encoding;
  const protocol = request.headers.get("git-protocol");
  if (protocol !== null && /^[A-Za-z0-9=:._-]{1,100}$/.test(protocol)) env.GIT_PROTOCOL = protocol;
  return env;
}

/** Splits CGI output into its header block and the rest. */
export function parseCgiHead(head: string): { status: number; headers: [string, string][] } {
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]) || 500;
    else headers.push([name, value]);
  }
  return { status, headers };
}

/**
 * Runs `git http-backend` for a request and streams its answer back.
 *
 * @param onExit called when the backend exited (after the response body ended).
 */
export async function runBackend(
  request: Request,
  env: Record<string, string>,
  onExit: (code: number) => void,
): Promise<Response> {
  const child = new Deno.Command("git", {
    args: ["http-backend"],
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const feeding = (async () => {
    try {
      if (request.body) await request.body.pipeTo(child.stdin);
      else await child.stdin.close();
    } catch {
      // the client went away or the backend stopped reading; its exit says the rest
    }
  })();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  let buffered = new Uint8Array(0);
  let headEnd = -1;
  while (headEnd < 0) {
    const { value, done } = await reader.read();
    if (done) break;
    const joined = new Uint8Array(buffered.length + value.length);
    joined.set(buffered);
    joined.set(value, buffered.length);
    buffered = joined;
    headEnd = findHeadEnd(buffered);
    if (buffered.length > 64 * 1024 && headEnd < 0) break;
  }
  if (headEnd < 0) {
    reader.cancel().catch(() => {});
    const status = await child.status;
    await feeding;
    onExit(status.code);
    const detail = (await stderr).trim().slice(-300);
    return new Response(`git-gate: git http-backend failed: ${detail}\n`, {
      status: 500,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  const sep = buffered[headEnd] === 13 ? 4 : 2;
  const head = parseCgiHead(new TextDecoder().decode(buffered.subarray(0, headEnd)));
  const rest = buffered.subarray(headEnd + sep);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (rest.length > 0) controller.enqueue(rest);
    },
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) {
        controller.close();
        const status = await child.status;
        await feeding;
        await stderr;
        onExit(status.code);
        return;
      }
      controller.enqueue(value);
    },
    cancel() {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone
      }
    },
  });
  return new Response(request.method === "HEAD" ? null : body, {
    status: head.status,
    headers: head.headers,
  });
}

function findHeadEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i + 1] === 10) return i;
    if (
      bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10
    ) return i;
  }
  return -1;
}
