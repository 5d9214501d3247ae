import { parseImageReference } from "@slipway/core";

/**
 * What a build hook may ask of the Docker engine. A hook gets a `docker` CLI, so that `docker build`,
 * `tag`, `push` and `run` work as on Docker Hub; the engine's socket would also let it mount the host,
 * join the host's network or run privileged, and so reach Slipway's database, Redis and secrets. The
 * proxy in front of the engine checks every call against this policy: an allow-list of endpoints,
 * containers confined to the ones the hook made, images named only within the build's repository, and
 * container settings that cannot leave the sandbox. Anything else is refused with a message the CLI prints.
 */
export interface EnginePolicy {
  /** The build's repository as the engine names it ("127.0.0.1:5000/acme/hello"): the only one a hook may tag, push or remove. */
  repository: string;
  /** The network `docker build` steps run on: the worker's own builds' network; undefined: the engine's default. */
  buildNetwork?: string;
}

/** The calls a hook made so far that later calls are checked against. */
export interface HookSessionState {
  /** Full ids of the containers the hook created. */
  containers: Set<string>;
  /** The names it gave them, and the id each stands for. */
  names: Map<string, string>;
  /** Ids of the execs started in those containers. */
  execs: Set<string>;
}

export type Decision =
  | { kind: "refuse"; message: string }
  /**
   * Forward; `url`: this one instead of the call's (a container named by the id the hook's name
   * stood for); `registryAuth`: add the registry's credentials for this image.
   */
  | { kind: "forward"; url?: string; registryAuth?: string }
  /** A build: forward with this query, and every registry credential the build may need. */
  | { kind: "build"; query: URLSearchParams }
  /** A container create: forward with this body and remember the container it makes. */
  | { kind: "create-container"; name?: string }
  /** An exec create, sent to `url`: remember the exec it makes. */
  | { kind: "create-exec"; url: string };

const refuse = (message: string): Decision => ({ kind: "refuse", message: `Slipway build hooks: ${message}` });

/** "/v1.41/containers/create" → "/containers/create"; the engine takes both. */
function withoutVersion(pathname: string): string {
  return pathname.replace(/^\/v\d+(\.\d+)?(?=\/)/, "");
}

/** Whether `ref` names an image of the build's repository (any tag). */
function isOwnRepository(ref: string, policy: EnginePolicy): boolean {
  return parseImageReference(ref).repository === parseImageReference(policy.repository).repository;
}

/**
 * Whether a hook may read or run an image: by id (unguessable, and no hook can list the engine's
 * images), from another registry, or of its own repository. The build engine's image store is
 * shared: other repositories of Slipway's registry, private ones among them, may be cached there.
 */
function mayUseImage(ref: string, policy: EnginePolicy): boolean {
  if (/^(sha256:)?[0-9a-f]{12,64}$/.test(ref)) return true;
  const own = parseImageReference(policy.repository);
  const image = parseImageReference(ref);
  return image.registry !== own.registry || image.repository === own.repository;
}

/**
 * The full id of the hook's own container that `ref` names, if it is one. A name stands for the id it
 * was given to, never for whatever has it now: once the hook's container is gone (`docker rm`, or
 * `run --rm` ending), the engine gives the name to the next container that asks, another build's too.
 */
function ownContainer(state: HookSessionState, ref: string): string | undefined {
  const named = state.names.get(ref.replace(/^\//, ""));
  if (named !== undefined) return named;
  if (state.containers.has(ref)) return ref;
  // Docker takes any unique prefix of an id (12 hex at least, as the CLI prints them).
  if (!/^[0-9a-f]{12,64}$/.test(ref)) return undefined;
  const matching = [...state.containers].filter((known) => known.startsWith(ref));
  return matching.length === 1 ? matching[0] : undefined;
}

/** Reads on containers and images that reveal nothing outside the hook's own work. */
const OWN_CONTAINER_ACTIONS = new Set([
  "GET json",
  "GET logs",
  "GET top",
  "GET changes",
  "GET stats",
  "GET export",
  "GET archive",
  "HEAD archive",
  "PUT archive",
  "POST start",
  "POST stop",
  "POST restart",
  "POST kill",
  "POST wait",
  "POST attach",
  "POST resize",
  "POST pause",
  "POST unpause",
  "POST exec",
]);

/** The decision for one call: method and URL as the CLI sent them. */
export function decide(method: string, url: string, policy: EnginePolicy, state: HookSessionState): Decision {
  const parsed = new URL(url, "http://engine");
  const path = withoutVersion(parsed.pathname);
  const query = parsed.searchParams;
  const what = `${method} ${path}`;

  if ((method === "GET" || method === "HEAD") && (path === "/_ping" || path === "/version" || path === "/info")) return { kind: "forward" };

  if (method === "POST" && path === "/build") return decideBuild(query, policy);

  if (method === "POST" && path === "/images/create") {
    if (query.has("fromSrc")) return refuse("importing images (docker import) is not allowed");
    const from = query.get("fromImage") ?? "";
    if (from === "") return refuse("a pull needs an image name");
    return { kind: "forward", registryAuth: parseImageReference(from).registry };
  }

  const image = /^\/images\/(.+?)\/(json|history|push|tag)$/.exec(path);
  if (image) {
    const name = decodeURIComponent(image[1]!);
    const action = image[2]!;
    if (method === "GET" && (action === "json" || action === "history")) {
      if (!mayUseImage(name, policy)) return refuse(`hooks may look at images of ${policy.repository} only on its registry, not ${name}`);
      return { kind: "forward" };
    }
    if (method === "POST" && action === "push") {
      if (!isOwnRepository(name, policy)) return refuse(`hooks push to ${policy.repository} only, not ${name}`);
      return { kind: "forward", registryAuth: parseImageReference(name).registry };
    }
    if (method === "POST" && action === "tag") {
      if (!mayUseImage(name, policy)) return refuse(`hooks may tag images of ${policy.repository} only on its registry, not ${name}`);
      const target = query.get("repo") ?? "";
      if (!isOwnRepository(target, policy)) return refuse(`hooks tag images of ${policy.repository} only, not ${target || "(none)"}`);
      return { kind: "forward" };
    }
  }
  const removal = /^\/images\/(.+)$/.exec(path);
  if (method === "DELETE" && removal) {
    const name = decodeURIComponent(removal[1]!);
    if (/^(sha256:)?[0-9a-f]{12,64}$/.test(name) || !isOwnRepository(name, policy)) {
      return refuse(`hooks remove tags of ${policy.repository} only, by name, not ${name}`);
    }
    return { kind: "forward" };
  }

  if (method === "POST" && path === "/containers/create") {
    const name = query.get("name");
    return { kind: "create-container", ...(name ? { name } : {}) };
  }
  const container = /^\/containers\/([^/]+)(?:\/([a-z]+))?$/.exec(path);
  if (container) {
    const ref = decodeURIComponent(container[1]!);
    const action = container[2];
    const allowed = action === undefined ? method === "DELETE" : OWN_CONTAINER_ACTIONS.has(`${method} ${action}`);
    if (!allowed) return refuse(`${what} is not allowed`);
    const id = ownContainer(state, ref);
    if (id === undefined) return refuse(`hooks may use the containers they created only, not ${ref}`);
    const byId = `${parsed.pathname.replace(/\/containers\/[^/]+/, `/containers/${id}`)}${parsed.search}`;
    return action === "exec" ? { kind: "create-exec", url: byId } : { kind: "forward", url: byId };
  }
  const exec = /^\/exec\/([^/]+)\/(start|json|resize)$/.exec(path);
  if (exec) {
    if (!state.execs.has(decodeURIComponent(exec[1]!))) return refuse(`hooks may use the execs they started only`);
    return { kind: "forward" };
  }
  return refuse(`${what} is not allowed`);
}

function decideBuild(query: URLSearchParams, policy: EnginePolicy): Decision {
  if (query.has("remote")) return refuse("builds from a remote URL or Git repository are not allowed: build the checked-out context");
  if (query.get("version") === "2") return refuse("BuildKit is not available to hooks; the classic builder is (DOCKER_BUILDKIT=0)");
  if ((query.get("cgroupparent") ?? "") !== "") return refuse("--cgroup-parent is not allowed");
  for (const tag of query.getAll("t")) {
    if (!isOwnRepository(tag, policy)) return refuse(`hooks tag images of ${policy.repository} only, not ${tag}`);
  }
  const network = query.get("networkmode") ?? "";
  const rewritten = new URLSearchParams(query);
  if (network === "" || network === "default") {
    if (policy.buildNetwork !== undefined) rewritten.set("networkmode", policy.buildNetwork);
  } else if (network !== "none" && network !== policy.buildNetwork) {
    return refuse(`builds run on ${policy.buildNetwork ?? "the engine's default network"} (or none), not ${network}`);
  }
  return { kind: "build", query: rewritten };
}

type Check = (value: unknown) => string | undefined;

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === "" || value === false || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

const anything: Check = () => undefined;
const oneOf =
  (...allowed: string[]): Check =>
  (value) =>
    value === undefined || value === null || allowed.includes(String(value)) ? undefined : `${String(value)} is not allowed`;
/** Docker reads a present but empty list as "none" (MaskedPaths: [] unmasks /proc): absent only. */
const absent: Check = (value) => (value === undefined || value === null ? undefined : "may not be set");

/**
 * HostConfig fields a hook may set, and how. A field not listed must be empty: a new field some later
 * engine adds is refused until it is known to be harmless.
 */
const HOST_CONFIG: Readonly<Record<string, Check>> = {
  AutoRemove: anything,
  ConsoleSize: anything,
  Memory: anything,
  MemoryReservation: anything,
  MemorySwap: anything,
  MemorySwappiness: anything,
  NanoCpus: anything,
  CpuShares: anything,
  CpuPeriod: anything,
  CpuQuota: anything,
  CpuRealtimePeriod: anything,
  CpuRealtimeRuntime: anything,
  CpusetCpus: anything,
  CpusetMems: anything,
  CpuCount: anything,
  CpuPercent: anything,
  BlkioWeight: anything,
  PidsLimit: anything,
  OomKillDisable: anything,
  OomScoreAdj: anything,
  Init: anything,
  ShmSize: anything,
  Tmpfs: anything,
  ReadonlyRootfs: anything,
  Ulimits: anything,
  RestartPolicy: anything,
  CapDrop: anything,
  GroupAdd: anything,
  Dns: anything,
  DnsOptions: anything,
  DnsSearch: anything,
  ExtraHosts: anything,
  PortBindings: anything,
  PublishAllPorts: anything,
  Isolation: anything,
  NetworkMode: oneOf("", "default", "none"),
  IpcMode: oneOf("", "private", "shareable", "none"),
  CgroupnsMode: oneOf("", "private"),
  LogConfig: (value) => {
    const type = (value as { Type?: unknown } | null)?.Type;
    return type === undefined || type === null || type === "" || type === "json-file" || type === "local" ? undefined : `log driver ${String(type)} is not allowed`;
  },
  Mounts: (value) =>
    Array.isArray(value) && value.some((mount) => (mount as { Type?: unknown }).Type !== "tmpfs") ? "only tmpfs mounts are allowed" : undefined,
  MaskedPaths: absent,
  ReadonlyPaths: absent,
};

/** The container create fields the docker CLI sends; any other must be empty. */
const CONTAINER_FIELDS = new Set([
  "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "ExposedPorts", "Tty", "OpenStdin", "StdinOnce",
  "Env", "Cmd", "Healthcheck", "ArgsEscaped", "Image", "Volumes", "WorkingDir", "Entrypoint", "NetworkDisabled", "MacAddress",
  "OnBuild", "Labels", "StopSignal", "StopTimeout", "Shell", "HostConfig", "NetworkingConfig",
]);

/** The exec create fields; any other must be empty. */
const EXEC_FIELDS = new Set(["AttachStdin", "AttachStdout", "AttachStderr", "DetachKeys", "Tty", "Env", "Cmd", "Privileged", "User", "WorkingDir", "ConsoleSize"]);

/**
 * The engine reads JSON the way Go does: keys match whatever their case, and a repeated key merges
 * into the first. So `{"HostConfig": {}, "hostConfig": {"Privileged": true}}` is privileged to the
 * engine whatever this file checks of "HostConfig". Any object holding two keys that differ in case
 * only is refused, at any depth; unknown fields must be empty; and what goes on is this file's own
 * serialisation of what it checked (JSON.parse kept one value per exact key).
 */
function caseCollision(value: unknown, depth = 0): string | undefined {
  if (depth > 32 || typeof value !== "object" || value === null) return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = caseCollision(item, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const seen = new Set<string>();
  for (const [key, inner] of Object.entries(value)) {
    const folded = key.toLowerCase();
    if (seen.has(folded)) return key;
    seen.add(folded);
    const found = caseCollision(inner, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function unknownField(config: Record<string, unknown>, known: ReadonlySet<string>): string | undefined {
  return Object.entries(config).find(([key, value]) => !known.has(key) && !isEmpty(value))?.[0];
}

/**
 * A container create body made safe, or why not: the sandbox's settings forced (no network, the
 * session's label), anything that reaches outside refused (binds, privileged, devices, host namespaces...).
 */
export function checkContainerCreate(body: unknown, labels: Record<string, string>, policy?: EnginePolicy): { body: Record<string, unknown> } | { refusal: string } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return { refusal: "Slipway build hooks: a container create needs a JSON object" };
  const collision = caseCollision(body);
  if (collision !== undefined) return { refusal: `Slipway build hooks: the field ${collision} is given twice (in different cases)` };
  const unknown = unknownField(body as Record<string, unknown>, CONTAINER_FIELDS);
  if (unknown !== undefined) return { refusal: `Slipway build hooks: the container field ${unknown} is not allowed` };
  const config = { ...(body as Record<string, unknown>) };
  if (policy !== undefined && typeof config["Image"] === "string" && !mayUseImage(config["Image"], policy)) {
    return { refusal: `Slipway build hooks: hooks may run images of ${policy.repository} only on its registry, not ${config["Image"]}` };
  }
  const hostConfig = { ...((config["HostConfig"] as Record<string, unknown> | null | undefined) ?? {}) };
  for (const [field, value] of Object.entries(hostConfig)) {
    const check = HOST_CONFIG[field];
    const problem = check === undefined ? (isEmpty(value) ? undefined : "is not allowed") : check(value);
    if (problem !== undefined) return { refusal: `Slipway build hooks: HostConfig.${field} ${problem} (hook containers have no network, mounts or privileges)` };
  }
  const endpoints = (config["NetworkingConfig"] as { EndpointsConfig?: Record<string, unknown> } | null | undefined)?.EndpointsConfig ?? {};
  const other = Object.keys(endpoints).find((network) => network !== "none" && network !== "default");
  if (other !== undefined) return { refusal: `Slipway build hooks: network ${other} is not allowed (hook containers have no network)` };
  hostConfig["NetworkMode"] = "none";
  config["HostConfig"] = hostConfig;
  delete config["NetworkingConfig"];
  config["Labels"] = { ...((config["Labels"] as Record<string, string> | null | undefined) ?? {}), ...labels };
  return { body: config };
}

/** An exec in one of the hook's own containers: never privileged (that would hand it every capability). */
export function checkExecCreate(body: unknown): { body: Record<string, unknown> } | { refusal: string } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return { refusal: "Slipway build hooks: an exec create needs a JSON object" };
  const config = body as Record<string, unknown>;
  const collision = caseCollision(config);
  if (collision !== undefined) return { refusal: `Slipway build hooks: the field ${collision} is given twice (in different cases)` };
  const unknown = unknownField(config, EXEC_FIELDS);
  if (unknown !== undefined) return { refusal: `Slipway build hooks: the exec field ${unknown} is not allowed` };
  if (!isEmpty(config["Privileged"])) return { refusal: "Slipway build hooks: docker exec --privileged is not allowed" };
  return { body: config };
}
