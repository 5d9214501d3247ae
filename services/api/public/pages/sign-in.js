import { ApiError, signIn } from "../lib/api.js";
import { field, h, message } from "../lib/dom.js";

/** Sign in with the admin token (users come later); the session lives in an HttpOnly cookie. */
export function signInPage(main, ctx, signedIn) {
  ctx.setTitle("Sign in");
  const input = h("input", { type: "password", name: "token", autocomplete: "current-password", required: true, spellcheck: "false" });
  const feedback = h("div");
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", {
    class: "stack",
    onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      feedback.replaceChildren();
      try {
        await signIn(input.value.trim());
        await signedIn();
      } catch (err) {
        const text = err instanceof ApiError && err.status === 401 ? "That token was not accepted." : err.message;
        feedback.replaceChildren(message("error", text));
        input.focus();
      } finally {
        submit.disabled = false;
      }
    },
  },
  field("Admin token", input, "npm start prints it; it is also kept in .slipway/admin-token."),
  h("div", {}, submit));
  main.replaceChildren(h("section", { class: "sign-in card" }, h("h1", {}, "Sign in to Slipway"), form, feedback));
  input.focus();
}
