import { ApiError, signIn } from "../lib/api.js";
import { field, h, message } from "../lib/dom.js";

/** Sign in with a username and password, or the admin token; the session lives in an HttpOnly cookie. */
export function signInPage(main, ctx, signedIn) {
  ctx.setTitle("Sign in");
  const username = h("input", { type: "text", name: "username", autocomplete: "username", spellcheck: "false", autocapitalize: "none" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password" });
  const token = h("input", { type: "password", name: "token", autocomplete: "off", spellcheck: "false" });
  const feedback = h("div");
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", {
    class: "stack",
    onsubmit: async (event) => {
      event.preventDefault();
      const byPassword = username.value.trim() !== "";
      if (!byPassword && token.value.trim() === "") {
        feedback.replaceChildren(message("error", "Give your username and password, or the admin token."));
        username.focus();
        return;
      }
      submit.disabled = true;
      feedback.replaceChildren();
      try {
        await signIn(byPassword ? { username: username.value.trim(), password: password.value } : { token: token.value.trim() });
        await signedIn();
      } catch (err) {
        const text = err instanceof ApiError && err.status === 401 ? (byPassword ? "That username and password were not accepted." : "That token was not accepted.") : err.message;
        feedback.replaceChildren(message("error", text));
        (byPassword ? password : token).focus();
      } finally {
        submit.disabled = false;
      }
    },
  },
  field("Username", username),
  field("Password", password),
  field("Admin token", token, "Or the admin token instead: npm start prints it; it is also kept in .slipway/admin-token."),
  h("div", {}, submit));
  main.replaceChildren(h("section", { class: "sign-in card" }, h("h1", {}, "Sign in to Slipway"), form, feedback));
  username.focus();
}
