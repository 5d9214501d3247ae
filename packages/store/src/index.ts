export { createStore, type StoreOptions } from "./create-store.js";
export type * from "./types.js";
