// Forms built from a list of fields, sent as JSON to the API; a refusal is shown beside the field the API names
// (its `field`), anything else above the button.

import { api, ApiError } from "/console/api.js";
import { element, problem } from "/console/dom.js";

// `fields`: [{ name, label, kind: "text" | "password" | "number" | "select" | "checkbox" | "textarea",
// options: [[value, label]], placeholder }]. Empty fields are left out of the request.
export function apiForm({ id, fields, submit, action, method = "POST", body = (values) => values, done }) {
  const controls = fields.map((f) => {
    const inputId = `${id}-${f.name.replace(/\./g, "-")}`;
    let input;
    if (f.kind === "select") {
      input = element("select", { id: inputId, name: f.name }, f.options.map(([v, label]) => element("option", { value: v }, [label])));
    } else if (f.kind === "textarea") {
      input = element("textarea", { id: inputId, name: f.name, rows: 4, placeholder: f.placeholder || "" });
    } else if (f.kind === "checkbox") {
      input = element("input", { id: inputId, name: f.name, type: "checkbox" });
    } else {
      input = element("input", { id: inputId, name: f.name, type: f.kind || "text", placeholder: f.placeholder || "", autocomplete: "off" });
    }
    return element("div", { class: "field" }, [
      element("label", { for: inputId }, [f.label]), input,
      element("span", { class: "field-error", "data-error-for": f.name, role: "status" }),
    ]);
  });
  const top = element("div", { class: "form-problem" });
  const form = element("form", { class: "wizard", id, novalidate: true }, [
    ...controls, top, element("button", { type: "submit", id: `${id}-submit` }, [submit]),
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form, top);
    const values = {};
    for (const f of fields) {
      const input = form.querySelector(`[name="${f.name}"]`);
      if (f.kind === "checkbox") values[f.name] = input.checked;
      else if (input.value.trim() !== "") values[f.name] = f.kind === "number" ? Number(input.value) : input.value.trim();
    }
    try {
      const result = await api(typeof action === "function" ? action(values) : action, { method, body: body(values) });
      await done(result, form);
    } catch (error) {
      showFieldError(form, top, error);
    }
  });
  return form;
}

export function clearErrors(form, top) {
  for (const e of form.querySelectorAll(".field-error")) e.textContent = "";
  for (const e of form.querySelectorAll("[aria-invalid]")) e.removeAttribute("aria-invalid");
  top.replaceChildren();
}

// A refusal beside the field it names (the API's `field`, e.g. `bucket`, `credentials.role_arn`), else on top.
export function showFieldError(form, top, error) {
  const name = error instanceof ApiError ? error.field : "";
  const slot = name && (form.querySelector(`[data-error-for="${name}"]`) || form.querySelector(`[data-error-for="${name.split(".")[0]}"]`));
  if (slot) {
    slot.textContent = error.message;
    const input = form.querySelector(`[name="${name}"]`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  } else {
    top.replaceChildren(problem(error));
  }
}

// A token's value, shown this once with what to do with it.
export function newToken(created) {
  return element("div", { class: "new-token", role: "status" }, [
    element("p", {}, [`Token “${created.name}” — copy it now: byob keeps only its hash and will not show it again.`]),
    element("code", { "data-testid": "new-token" }, [created.token]),
  ]);
}
