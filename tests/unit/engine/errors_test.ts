import assert from "node:assert/strict";
import {
  classifyConnectError,
  EngineApiError,
  EngineConflictError,
  engineErrorFromResponse,
  EngineInvalidParameterError,
  engineMessageOf,
  EngineNotFoundError,
  EngineUnavailableError,
} from "../../../src/engine/errors.ts";
import { unreachableError } from "../../../src/engine/client.ts";
import { BottleError } from "../../../src/lib/errors.ts";

const ACTION = 'Cannot create network "bot-bottle-net-x"';

Deno.test("engineErrorFromResponse maps statuses to classes and exit codes like Moby", () => {
  const table: [number, new (...a: never[]) => Error, string, number][] = [
    [400, EngineInvalidParameterError, "engine", 4],
    [404, EngineNotFoundError, "not_found", 6],
    [409, EngineConflictError, "invalid_state", 6],
    [500, EngineApiError, "engine", 4],
    [503, EngineUnavailableError, "engine", 4],
    [418, EngineApiError, "engine", 4],
  ];
  for (const [status, klass, code, exit] of table) {
    const error = engineErrorFromResponse(ACTION, status, '{"message":"boom"}');
    assert.ok(error instanceof klass, `status ${status}`);
    assert.ok(error instanceof BottleError);
    assert.equal(error.code, code, `status ${status}`);
    assert.equal(error.exitCode, exit, `status ${status}`);
    assert.equal(error.status, status);
  }
});

Deno.test("an engine error message is the action, a colon and the engine's message", () => {
  const error = engineErrorFromResponse(
    ACTION,
    409,
    '{"message":"network with name bot-bottle-net-x already exists"}\n',
  );
  assert.equal(
    error.message,
    'Cannot create network "bot-bottle-net-x": network with name bot-bottle-net-x already exists',
  );
  assert.equal(error.engineMessage, "network with name bot-bottle-net-x already exists");
  assert.match(error.hint ?? "", /bot-bottle cleanup/);
  assert.ok(!error.message.includes("\n"));
});

Deno.test("engineMessageOf reads JSON, plain text and empty bodies to one line", () => {
  assert.equal(engineMessageOf('{"message":"No such image: x"}'), "No such image: x");
  assert.equal(engineMessageOf("page not found\nsecond line"), "page not found");
  assert.equal(engineMessageOf(""), "");
  assert.equal(engineErrorFromResponse("Cannot x", 500, "").message, "Cannot x: HTTP 500");
});

Deno.test("classifyConnectError recognises missing sockets, refusals and permission errors", () => {
  const wrapped = (msg: string) => new TypeError("fetch failed", { cause: new Error(msg) });
  const table: [unknown, string][] = [
    [new Deno.errors.NotFound("x"), "missing"],
    [new Deno.errors.ConnectionRefused("x"), "refused"],
    [new Deno.errors.PermissionDenied("x"), "permission"],
    [wrapped("client error (Connect): No such file or directory (os error 2)"), "missing"],
    [wrapped("client error (Connect): Connection refused (os error 111)"), "refused"],
    [wrapped("client error (Connect): Permission denied (os error 13)"), "permission"],
    [wrapped("client error (Connect): received fatal alert: BadCertificate"), "tls"],
    [wrapped("client error (Connect): invalid peer certificate: UnknownIssuer"), "tls"],
    [wrapped("something odd"), "other"],
  ];
  for (const [error, kind] of table) assert.equal(classifyConnectError(error).kind, kind);
  assert.equal(classifyConnectError(wrapped("something odd")).reason, "something odd");
});

Deno.test("unreachableError for one endpoint asks whether the engine runs and hints at the fix", () => {
  const error = unreachableError([
    { label: "unix:///nonexistent.sock", kind: "missing", reason: "no such socket" },
  ]);
  assert.ok(error instanceof EngineUnavailableError);
  assert.equal(error.exitCode, 4);
  assert.equal(
    error.message,
    "Cannot connect to the Docker engine at unix:///nonexistent.sock: no such socket, is it running?",
  );
  assert.match(error.hint ?? "", /DOCKER_HOST/);
  assert.match(error.hint ?? "", /systemctl start docker/);
});

Deno.test("unreachableError names every candidate and prefers the docker-group hint", () => {
  const error = unreachableError([
    { label: "unix:///var/run/docker.sock", kind: "permission", reason: "permission denied" },
    { label: "unix:///home/u/.docker/run/docker.sock", kind: "missing", reason: "no such socket" },
  ]);
  assert.match(
    error.message,
    /tried unix:\/\/\/var\/run\/docker\.sock \(permission denied\), unix:\/\/\/home\/u/,
  );
  assert.match(error.hint ?? "", /docker group/);
});

Deno.test("a refused TLS handshake names the endpoint and hints at DOCKER_CERT_PATH", () => {
  const failure = classifyConnectError(
    new TypeError("fetch failed", { cause: new Error("received fatal alert: BadCertificate") }),
  );
  assert.equal(failure.reason, "TLS handshake failed (received fatal alert: BadCertificate)");
  const error = unreachableError([
    { label: "tcp://198.51.100.7:2376", ...failure, certPath: "/etc/bot-bottle/vm2" },
  ]);
  assert.equal(
    error.message,
    "Cannot connect to the Docker engine at tcp://198.51.100.7:2376: " +
      "TLS handshake failed (received fatal alert: BadCertificate)",
  );
  assert.match(error.hint ?? "", /"\/etc\/bot-bottle\/vm2"/);
  assert.match(error.hint ?? "", /DOCKER_CERT_PATH/);
});

Deno.test("plain HTTP to a TLS engine hints at DOCKER_TLS_VERIFY", () => {
  const error = unreachableError([
    { label: "tcp://198.51.100.7:2376", kind: "tls-required", reason: "it expects TLS" },
  ]);
  assert.doesNotMatch(error.message, /is it running/);
  assert.match(error.hint ?? "", /DOCKER_TLS_VERIFY=1/);
});
