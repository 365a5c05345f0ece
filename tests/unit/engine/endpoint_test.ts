import assert from "node:assert/strict";
import { discoverEndpoints, endpointLabel, parseDockerHost } from "../../../src/engine/endpoint.ts";
import { EngineUnavailableError } from "../../../src/engine/errors.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("parseDockerHost reads unix sockets", () => {
  assert.deepEqual(parseDockerHost("unix:///run/docker.sock", envOf({})), {
    kind: "unix",
    path: "/run/docker.sock",
  });
});

Deno.test("parseDockerHost reads tcp with and without a port", () => {
  assert.deepEqual(parseDockerHost("tcp://10.0.0.5:2375", envOf({})), {
    kind: "tcp",
    hostname: "10.0.0.5",
    port: 2375,
  });
  assert.deepEqual(parseDockerHost("tcp://engine.local", envOf({})), {
    kind: "tcp",
    hostname: "engine.local",
    port: 2375,
  });
  assert.deepEqual(parseDockerHost("tcp://[::1]:2375/", envOf({})), {
    kind: "tcp",
    hostname: "::1",
    port: 2375,
  });
});

Deno.test("parseDockerHost turns on TLS with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH", () => {
  assert.deepEqual(
    parseDockerHost("tcp://e:2376", envOf({ DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs" })),
    { kind: "tcp", hostname: "e", port: 2376, tls: { certPath: "/certs" } },
  );
  assert.deepEqual(
    parseDockerHost("tcp://e", envOf({ DOCKER_TLS_VERIFY: "1", HOME: "/home/u/" })),
    { kind: "tcp", hostname: "e", port: 2376, tls: { certPath: "/home/u/.docker" } },
  );
  assert.equal(
    (parseDockerHost("tcp://e:1", envOf({ DOCKER_TLS_VERIFY: "0" })) as { tls?: unknown }).tls,
    undefined,
  );
});

Deno.test("parseDockerHost refuses unsupported or malformed values with exit 4", () => {
  for (
    const value of [
      "ssh://me@host",
      "npipe:////./pipe/docker_engine",
      "docker.sock",
      "unix://relative",
      "tcp://h:99999",
    ]
  ) {
    assert.throws(() => parseDockerHost(value, envOf({})), (e: unknown) => {
      assert.ok(e instanceof EngineUnavailableError, value);
      assert.equal(e.exitCode, 4);
      assert.ok(e.message.startsWith(`Cannot use DOCKER_HOST "${value}": `), e.message);
      return true;
    });
  }
});

Deno.test("discoverEndpoints uses DOCKER_HOST alone when it is set", () => {
  const list = discoverEndpoints(envOf({ DOCKER_HOST: "unix:///x.sock", HOME: "/home/u" }));
  assert.deepEqual(list, [{ endpoint: { kind: "unix", path: "/x.sock" }, source: "DOCKER_HOST" }]);
});

Deno.test("discoverEndpoints tries the system, user and runtime-dir sockets in order", () => {
  const list = discoverEndpoints(envOf({ HOME: "/home/u", XDG_RUNTIME_DIR: "/run/user/1000" }));
  assert.deepEqual(list.map((c) => endpointLabel(c.endpoint)), [
    "unix:///var/run/docker.sock",
    "unix:///home/u/.docker/run/docker.sock",
    "unix:///run/user/1000/docker.sock",
  ]);
  assert.equal(discoverEndpoints(envOf({})).length, 1);
});

Deno.test("endpointLabel formats tcp endpoints like DOCKER_HOST", () => {
  assert.equal(endpointLabel({ kind: "tcp", hostname: "::1", port: 2375 }), "tcp://[::1]:2375");
  assert.equal(endpointLabel({ kind: "tcp", hostname: "h", port: 1 }), "tcp://h:1");
});
