/** Table shapes of the variables feature; merged into Database in schema.ts. */
export interface VariableTables {
  build_variables: BuildVariableTable;
}

/** A build variable of a repository (CONTRACT §5): given to its builds as a build arg. */
export interface BuildVariableTable {
  id: string;
  repository_id: string;
  key: string;
  /** Sealed by the caller (core's secret box), whether the variable is secret or not. */
  value_enc: string;
  secret: number;
  created_at: string;
  updated_at: string;
}
