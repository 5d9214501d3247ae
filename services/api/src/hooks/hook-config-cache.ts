import type { Provider } from "@slipway/core";
import type { Store } from "@slipway/store";

/** What a webhook delivery reads of the configuration to decide what to build. */
export type ConfigReads = Pick<Store, "getSource" | "findSources" | "getRepository" | "listRules">;

/** Entries kept at most, all kinds together; past that the cache starts afresh. */
const MAX_ENTRIES = 10_000;

/** Everything read while the config version was one number. */
class Generation implements ConfigReads {
  readonly #store: ConfigReads;
  readonly #kept = new Map<string, unknown>();
  readonly version: number;

  constructor(store: ConfigReads, version: number) {
    this.#store = store;
    this.version = version;
  }

  /** Nothing that was not found is kept: unknown source ids could fill the memory. */
  async #read<T>(key: string, load: () => Promise<T>, keep: (value: T) => boolean): Promise<T> {
    if (this.#kept.has(key)) return this.#kept.get(key) as T;
    const value = await load();
    if (keep(value)) {
      if (this.#kept.size >= MAX_ENTRIES) this.#kept.clear();
      this.#kept.set(key, value);
    }
    return value;
  }

  getSource(id: string) {
    return this.#read(`source ${id}`, () => this.#store.getSource(id), (s) => s !== undefined);
  }

  findSources(provider: Provider, forgeRepository: string) {
    const key = `sources ${provider} ${forgeRepository.toLowerCase()}`;
    return this.#read(key, () => this.#store.findSources(provider, forgeRepository), (s) => s.length > 0);
  }

  getRepository(id: string) {
    return this.#read(`repository ${id}`, () => this.#store.getRepository(id), (r) => r !== undefined);
  }

  listRules(repositoryId: string) {
    return this.#read(`rules ${repositoryId}`, () => this.#store.listRules(repositoryId), () => true);
  }
}

/**
 * Keeps what webhook deliveries read of the configuration (sources, repositories, rules) in
 * memory between deliveries: three reads a delivery become one. Each delivery begins with the
 * store's config version (one small row, moved by the database itself whenever those tables
 * change, in any process): when it has moved, all that was kept is dropped. So a delivery never
 * decides on configuration older than what had been committed when it began, as when it read
 * the store itself. A read that finishes after the version moved lands in the dropped
 * generation, never in the new one. What it hands out is shared: callers must not change it.
 */
export function createHookConfigCache(store: ConfigReads & Pick<Store, "configVersion">) {
  let generation = new Generation(store, Number.NaN);
  return {
    /** The configuration for one delivery, as of now. */
    async current(): Promise<ConfigReads> {
      const version = await store.configVersion();
      if (version !== generation.version) generation = new Generation(store, version);
      return generation;
    },
  };
}

export type HookConfigCache = ReturnType<typeof createHookConfigCache>;
