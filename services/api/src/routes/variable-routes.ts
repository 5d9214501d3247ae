import { isValidVariableKey, MAX_VARIABLE_VALUE, SlipwayError, VARIABLE_KEY_HINT, type SecretBox } from "@slipway/core";
import type { VariableRecord } from "@slipway/store";
import { Router, type Request } from "express";
import { asBody, optionalBoolean } from "../http/input.js";
import { loadRepository } from "../http/access.js";
import type { RouteDeps } from "./route-deps.js";

/** A variable as the API shows it: a secret one's value never again (null). */
export function toVariableView(variable: VariableRecord, value: string | null) {
  return {
    key: variable.key,
    value: variable.secret ? null : value,
    secret: variable.secret,
    createdAt: variable.createdAt,
    updatedAt: variable.updatedAt,
  };
}

function keyOf(req: Request): string {
  const key = String(req.params["key"]);
  if (!isValidVariableKey(key)) throw new SlipwayError("validation_failed", VARIABLE_KEY_HINT);
  return key;
}

/** The value as given: not trimmed (spaces may matter to a build), empty allowed. */
function valueOf(body: Record<string, unknown>): string {
  const value = body["value"];
  if (typeof value !== "string") throw new SlipwayError("validation_failed", `"value" is required and must be a string`);
  if (value.length > MAX_VARIABLE_VALUE) {
    throw new SlipwayError("validation_failed", `"value" must be at most ${MAX_VARIABLE_VALUE} characters`);
  }
  return value;
}

function open(secrets: SecretBox, variable: VariableRecord): string | null {
  return variable.secret ? null : secrets.open(variable.valueEnc);
}

/**
 * Build variables (CONTRACT §5), under /api/v1. Values are sealed before they reach the store,
 * secret or not; a secret one's value leaves Slipway only as a build arg of its builds.
 */
export function createVariableRoutes(deps: RouteDeps): Router {
  const { store, secrets } = deps;
  const router = Router();

  router.get("/repositories/:namespace/:name/variables", async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    const variables = await store.variables.list(repo.id);
    res.json({ variables: variables.map((v) => toVariableView(v, open(secrets, v))) });
  });

  router.get("/repositories/:namespace/:name/variables/:key", async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    const key = keyOf(req);
    const variable = await store.variables.get(repo.id, key);
    if (!variable) throw new SlipwayError("not_found", `${repo.namespace}/${repo.name} has no variable ${key}`);
    res.json(toVariableView(variable, open(secrets, variable)));
  });

  router.put("/repositories/:namespace/:name/variables/:key", async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    const key = keyOf(req);
    const body = asBody(req.body);
    const value = valueOf(body);
    const secret = optionalBoolean(body, "secret") ?? false;
    const { variable, created } = await store.variables.set(repo.id, { key, valueEnc: secrets.seal(value), secret });
    res.status(created ? 201 : 200).json(toVariableView(variable, value));
  });

  router.delete("/repositories/:namespace/:name/variables/:key", async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    const key = keyOf(req);
    if (!(await store.variables.delete(repo.id, key))) {
      throw new SlipwayError("not_found", `${repo.namespace}/${repo.name} has no variable ${key}`);
    }
    res.status(204).end();
  });

  return router;
}
