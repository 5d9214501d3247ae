/** Table shapes of the triggers feature; merged into Database in schema.ts. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TriggerTables {}
