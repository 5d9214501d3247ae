import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createApp, type AppDeps } from "@slipway/api";
import { createLogger } from "@slipway/config";
import { BUILD_STATUSES, ERROR_CODES, httpStatusOf, PROVIDERS, ROLES, type ErrorCode } from "@slipway/core";

/**
 * docs/openapi.yaml against the code: the file is OpenAPI 3.1 as far as is cheap to check
 * (every $ref resolves, every path parameter is declared, every operation answers something),
 * its enums are core's, and it lists exactly the routes the express application registers.
 * No dev stack: the application is built with stand-ins that are never called, and only its
 * router is walked.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

// js-yaml is what ESLint itself reads YAML with; it ships no types, so only `load` is described.
const { load } = createRequire(import.meta.url)("js-yaml") as { load(text: string): unknown };
const spec = load(readFileSync(resolve(ROOT, "docs/openapi.yaml"), "utf8")) as any;

/** Resolves a local `#/…` reference (JSON pointer); throws for anything else. */
function resolveRef(ref: string): any {
  assert.ok(ref.startsWith("#/"), `only local references are used: ${ref}`);
  let node: any = spec;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    assert.ok(node !== null && typeof node === "object" && Object.hasOwn(node, key), `${ref} does not resolve (no "${key}")`);
    node = node[key];
  }
  return node;
}

const deref = (node: any): any => (node && typeof node.$ref === "string" ? deref(resolveRef(node.$ref)) : node);

/** Every operation: method, path and the operation object. */
function operations(): { method: (typeof METHODS)[number]; path: string; op: any; item: any }[] {
  return Object.entries(spec.paths as Record<string, any>).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined).map((method) => ({ method, path, op: item[method], item })),
  );
}

/** Express ignores one trailing slash (strict routing is off), so `/call/` and `/call` are one route. */
const normalise = (path: string): string => (path.length > 1 ? path.replace(/\/$/, "") : path);

// ---------------------------------------------------------------------------------------
// The routes the application registers, from express 5's router stack.

interface LayerLike {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle: { length: number; stack?: LayerLike[] };
  /** router ≥ 2.3: the path the layer was mounted with. */
  rawPath?: unknown;
  /** Mounted at "/" (app.use(fn) without a path). */
  slash?: boolean;
}

/** `/repositories/:namespace/:name` → `/repositories/{namespace}/{name}`; other express path syntax is not expected. */
function toTemplate(path: string): string {
  assert.doesNotMatch(path, /[*(){}?]/, `route ${path} uses path syntax this test does not translate`);
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
}

/** METHOD path of every route, and the paths of mounted handlers that are not routers. */
function walk(stack: LayerLike[], prefix: string, routes: Set<string>, mounts: Set<string>): void {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const path of paths) {
        assert.equal(typeof path, "string", `a route under ${prefix || "/"} has a path that is not a string`);
        for (const [method, on] of Object.entries(layer.route.methods)) {
          assert.notEqual(method, "_all", `route ${String(path)} answers every method; describe it method by method`);
          if (on) routes.add(`${method.toUpperCase()} ${normalise(toTemplate(prefix + String(path)))}`);
        }
      }
      continue;
    }
    // Error handlers answer no request of their own.
    if (layer.handle.length === 4) continue;
    let mountPath = "";
    if (!layer.slash) {
      assert.equal(typeof layer.rawPath, "string", "a handler is mounted at a path this test cannot read (router < 2.3, or not a string)");
      mountPath = layer.rawPath as string;
    }
    if (layer.handle.stack) walk(layer.handle.stack, prefix + mountPath, routes, mounts);
    else if (mountPath !== "") mounts.add(prefix + mountPath);
  }
}

/** A dependency that must not be used: the application is only built and its router walked. */
function untouchable(name: string): any {
  return new Proxy(function untouched() {}, {
    get: (_target, prop) => (prop === "then" ? undefined : untouchable(`${name}.${String(prop)}`)),
    apply: () => {
      throw new Error(`${name}() was called, but this test only walks the router`);
    },
  });
}

function registeredRoutes(): { routes: Set<string>; mounts: Set<string>; strict: unknown } {
  const deps: AppDeps = {
    config: { adminToken: "admin-token", publicUrl: "http://127.0.0.1:8080", registry: "127.0.0.1:5000", webhookAllowPrivate: false, passwordCost: 10, registryEventsSecret: "events-secret", trustProxy: false },
    store: untouchable("store"),
    queue: untouchable("queue"),
    bus: untouchable("bus"),
    secrets: untouchable("secrets"),
    logger: createLogger({ level: "silent", name: "openapi-test" }),
    // A plain object: the rate limiters look at their client's methods when they are made.
    rateLimit: { redis: {} as AppDeps["rateLimit"]["redis"], prefix: "openapi-test", triggerCallsPerMinute: 10 },
    webhookQueue: untouchable("webhookQueue"),
    sessions: untouchable("sessions"),
    registrySigner: untouchable("registrySigner"),
  };
  const app = createApp(deps);
  const routes = new Set<string>();
  const mounts = new Set<string>();
  walk((app as unknown as { router: { stack: LayerLike[] } }).router.stack, "", routes, mounts);
  return { routes, mounts, strict: app.get("strict routing") };
}

// ---------------------------------------------------------------------------------------

describe("docs/openapi.yaml", () => {
  it("is an OpenAPI 3.1 document with info, paths and components", () => {
    assert.match(String(spec.openapi), /^3\.1\.\d+$/);
    assert.equal(typeof spec.info?.title, "string");
    assert.equal(typeof spec.info?.version, "string");
    assert.ok(spec.paths && typeof spec.paths === "object");
    for (const path of Object.keys(spec.paths)) assert.match(path, /^\//, `path ${path} starts with /`);
    const normalised = Object.keys(spec.paths).map(normalise);
    assert.equal(new Set(normalised).size, normalised.length, "no two paths differ only by a trailing slash");
    for (const section of ["schemas", "responses", "parameters", "securitySchemes"]) {
      assert.ok(spec.components?.[section] && typeof spec.components[section] === "object", `components.${section}`);
    }
  });

  it("resolves every $ref", () => {
    let count = 0;
    const visit = (node: unknown, where: string): void => {
      if (Array.isArray(node)) node.forEach((child, i) => visit(child, `${where}/${i}`));
      else if (node !== null && typeof node === "object") {
        for (const [key, child] of Object.entries(node)) {
          if (key === "$ref") {
            assert.equal(typeof child, "string", `${where}/$ref is a string`);
            assert.notEqual(resolveRef(child as string), undefined, `${where}: ${String(child)}`);
            count++;
          } else visit(child, `${where}/${key}`);
        }
      }
    };
    visit(spec, "#");
    assert.ok(count > 0);
  });

  it("declares every path parameter, and no other", () => {
    for (const { method, path, op, item } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      // Operation parameters override the path item's of the same name and location.
      const byKey = new Map<string, any>();
      for (const level of [item.parameters ?? [], op.parameters ?? []]) {
        const seen = new Set<string>();
        for (const raw of level) {
          const parameter = deref(raw);
          assert.equal(typeof parameter.name, "string", `${where}: a parameter without a name`);
          assert.ok(["path", "query", "header", "cookie"].includes(parameter.in), `${where}: ${parameter.name} in ${parameter.in}`);
          assert.ok(parameter.schema !== undefined || parameter.content !== undefined, `${where}: ${parameter.name} has a schema`);
          const key = `${parameter.in} ${parameter.name}`;
          assert.ok(!seen.has(key), `${where}: ${key} is declared twice`);
          seen.add(key);
          byKey.set(key, parameter);
        }
      }
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort();
      const declared = [...byKey.values()].filter((p) => p.in === "path");
      assert.deepEqual(declared.map((p) => p.name as string).sort(), inTemplate, `${where}: path parameters`);
      for (const parameter of declared) assert.equal(parameter.required, true, `${where}: path parameter ${parameter.name} is required`);
    }
  });

  it("gives every operation a unique id, a summary, its security and described responses", () => {
    const ids = new Set<string>();
    const schemes = Object.keys(spec.components.securitySchemes);
    for (const { method, path, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.equal(typeof op.operationId, "string", `${where}: operationId`);
      assert.ok(!ids.has(op.operationId), `${where}: operationId ${op.operationId} is used twice`);
      ids.add(op.operationId);
      assert.equal(typeof op.summary, "string", `${where}: summary`);
      // No document-wide default: each operation says who may call it.
      assert.ok(Array.isArray(op.security), `${where}: security`);
      for (const requirement of op.security) {
        for (const name of Object.keys(requirement)) assert.ok(schemes.includes(name), `${where}: security scheme ${name} is defined`);
      }
      const statuses = Object.keys(op.responses ?? {});
      assert.ok(statuses.length > 0, `${where}: responses`);
      for (const status of statuses) {
        assert.match(status, /^([1-5](XX|\d\d)|default)$/, `${where}: status ${status}`);
        const response = deref(op.responses[status]);
        assert.equal(typeof response.description, "string", `${where} ${status}: description`);
        for (const [type, media] of Object.entries((response.content ?? {}) as Record<string, any>)) {
          assert.ok(media.schema !== undefined, `${where} ${status} ${type}: schema`);
        }
      }
      if (op.requestBody !== undefined) assert.ok(Object.keys(deref(op.requestBody).content ?? {}).length > 0, `${where}: request body content`);
    }
  });

  it("names error codes under the status core gives them", () => {
    const codes = new Set<string>(Object.keys(ERROR_CODES));
    const errorSchemas = new Set(["#/components/schemas/Error", "#/components/schemas/HookRejected", "#/components/schemas/HookDeferred"]);
    for (const { method, path, op } of operations()) {
      for (const [status, raw] of Object.entries(op.responses as Record<string, any>)) {
        if (!/^[45]\d\d$/.test(status)) continue;
        const response = deref(raw);
        const named = [...String(response.description).matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!).filter((code) => codes.has(code));
        const ref: unknown = response.content?.["application/json"]?.schema?.$ref;
        if (typeof ref === "string" && errorSchemas.has(ref)) {
          assert.ok(named.length > 0, `${method.toUpperCase()} ${path} ${status}: the description names its error code`);
        }
        for (const code of named) {
          assert.equal(httpStatusOf(code as ErrorCode), Number(status), `${method.toUpperCase()} ${path} ${status}: \`${code}\` answers ${httpStatusOf(code as ErrorCode)}`);
        }
      }
    }
  });

  it("enumerates core's error codes, build statuses, providers and roles", () => {
    const { schemas } = spec.components;
    assert.deepEqual([...schemas.ErrorCode.enum].sort(), Object.keys(ERROR_CODES).sort());
    assert.deepEqual(schemas.BuildStatus.enum, [...BUILD_STATUSES]);
    assert.deepEqual(schemas.Provider.enum, [...PROVIDERS]);
    assert.deepEqual(schemas.Role.enum, [...ROLES]);
    for (const name of ["Repository", "Build", "Rule", "Source", "Trigger", "Variable", "Webhook", "WebhookDelivery", "Delivery", "User", "AccessToken", "Organization", "Team", "Error"]) {
      assert.ok(schemas[name], `components.schemas.${name}`);
    }
  });

  it("lists exactly the routes the express application registers", () => {
    const { routes, mounts, strict } = registeredRoutes();
    // The trailing slash is ignored only while strict routing is off.
    assert.ok(!strict, "strict routing is off");
    assert.ok(routes.has("GET /api/v1/repositories/{namespace}/{name}"), "the walk reaches the routers mounted under /api/v1");
    const documented = new Set(operations().map(({ method, path }) => `${method.toUpperCase()} ${normalise(path)}`));
    const undocumented = [...routes].filter((route) => !documented.has(route)).sort();
    const unserved = [...documented].filter((route) => !routes.has(route)).sort();
    assert.deepEqual(undocumented, [], "routes the application serves that docs/openapi.yaml does not describe");
    assert.deepEqual(unserved, [], "operations docs/openapi.yaml describes that the application does not serve");
    // Handlers mounted at a path without being routers serve what is not an API: the dashboard's static files.
    assert.deepEqual([...mounts].sort(), ["/ui"]);
  });
});
