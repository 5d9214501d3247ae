// Forms that call the API: one submit handler, the button disabled while it runs, and the
// outcome (or the API's error message) shown beside the form.
import { copyButton, fieldWithButtons, h, message } from "./dom.js";

/**
 * A form whose submit runs `onSubmit()`; what it answers (a node, or text) is shown as a
 * success message, what it throws as an error.
 */
export function apiForm({ className = "grid-form", label, submitLabel, onSubmit }, ...fields) {
  const feedback = h("div", { class: "form-feedback" });
  const submit = h("button", { type: "submit", class: "primary" }, submitLabel);
  const form = h("form", {
    class: className,
    ...(label ? { "aria-label": label } : {}),
    onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      feedback.replaceChildren();
      try {
        const outcome = await onSubmit(form);
        if (outcome) feedback.replaceChildren(typeof outcome === "string" ? message("success", outcome) : outcome);
      } catch (err) {
        feedback.replaceChildren(message("error", err.message));
      } finally {
        submit.disabled = false;
      }
    },
  }, ...fields, h("div", { class: "form-actions" }, submit));
  return h("div", {}, form, feedback);
}

/** A secret shown once: hidden until revealed, with a copy button. */
export function secretReveal(label, secret) {
  const input = h("input", { type: "password", readonly: true, value: secret, class: "mono", spellcheck: "false" });
  const toggle = h("button", {
    type: "button",
    class: "small",
    "aria-pressed": "false",
    onclick: () => {
      const shown = input.type === "password";
      input.type = shown ? "text" : "password";
      toggle.setAttribute("aria-pressed", String(shown));
      toggle.textContent = shown ? "Hide" : "Reveal";
    },
  }, "Reveal");
  return h("div", { class: "secret" }, fieldWithButtons(label, input, toggle, copyButton(secret, `Copy the ${label.toLowerCase()}`)));
}

/** "KEY=value" lines, as an object; throws on a line without "=". */
export function parseAssignments(text) {
  const result = {};
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const eq = line.indexOf("=");
    if (eq < 1) throw new Error(`build args, line ${i + 1}: write KEY=value`);
    result[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return result;
}

export const formatAssignments = (object) => Object.entries(object ?? {}).map(([k, v]) => `${k}=${v}`).join("\n");
