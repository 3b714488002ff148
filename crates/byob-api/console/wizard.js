// The storage-integration wizard: where the bucket is and how byob reaches it (the API's own checks, each
// shown beside its field), then the setup to apply on the customer's side (each artifact with copy and
// download), then verification as a checklist with each failure's cause and fix, until the integration is active.

import { api } from "/console/api.js";
import { element, problem } from "/console/dom.js";
import { clearErrors, showFieldError } from "/console/forms.js";
import { checklist } from "/console/report.js";

// The credential modes per provider, with their fields (secret ones are never shown again once saved).
const MODES = {
  s3: [
    { mode: "s3_assume_role", title: "Assume a role (recommended)", fields: [["role_arn", "Role ARN", "arn:aws:iam::123456789012:role/byob-access"]] },
    { mode: "s3_access_key", title: "Access key", fields: [["access_key_id", "Access key id"], ["secret_access_key", "Secret access key", "", true]] },
  ],
  gcs: [
    { mode: "gcs_impersonation", title: "Impersonate a service account (recommended)", fields: [["service_account", "Service account", "byob@project.iam.gserviceaccount.com"]] },
    { mode: "gcs_service_account_key", title: "Service account key", fields: [["key", "Key file (JSON)", "", true, "textarea"]] },
  ],
  azure: [
    { mode: "azure_broker", title: "byob's application in your tenant (recommended)", fields: [["account", "Storage account"], ["tenant_id", "Tenant id"]] },
    { mode: "azure_service_principal", title: "Service principal", fields: [["account", "Storage account"], ["tenant_id", "Tenant id"], ["client_id", "Client id"], ["client_secret", "Client secret", "", true]] },
    { mode: "azure_shared_key", title: "Account key", fields: [["account", "Storage account"], ["account_key", "Account key", "", true]] },
    { mode: "azure_sas", title: "SAS token", fields: [["account", "Storage account"], ["sas_token", "SAS token", "", true]] },
  ],
};
const FEATURES = ["uploads", "attachments", "exports", "imports", "assets"];

function field(name, label, options = {}) {
  const id = `f-${name.replace(/\./g, "-")}`;
  const input = options.textarea
    ? element("textarea", { id, name, rows: 4 })
    : element("input", { id, name, type: options.secret ? "password" : "text", placeholder: options.placeholder || "", autocomplete: "off" });
  if (options.value !== undefined) input.value = options.value;
  return element("div", { class: "field" }, [
    element("label", { for: id }, [label]),
    input,
    element("span", { class: "field-error", "data-error-for": name, role: "status" }),
  ]);
}

function value(form, name) {
  const input = form.querySelector(`[name="${name}"]`);
  return input ? input.value.trim() : "";
}

// The request the form describes (empty optional fields left out).
function request(form) {
  const provider = value(form, "provider");
  const mode = value(form, "mode");
  const spec = MODES[provider].find((m) => m.mode === mode);
  const credentials = { mode };
  for (const [name] of spec.fields) credentials[name] = value(form, `credentials.${name}`);
  const body = {
    name: value(form, "name"),
    provider,
    bucket: value(form, "bucket"),
    prefix: value(form, "prefix"),
    credentials,
    features: FEATURES.filter((f) => form.querySelector(`[name="feature-${f}"]`).checked),
  };
  for (const optional of ["region", "endpoint"]) {
    if (value(form, optional)) body[optional] = value(form, optional);
  }
  const origins = value(form, "allowed_origins").split(/[\s,]+/).filter(Boolean);
  if (origins.length) body.allowed_origins = origins;
  return body;
}

function credentialFields(container, provider, mode) {
  const spec = MODES[provider].find((m) => m.mode === mode) || MODES[provider][0];
  container.replaceChildren(...spec.fields.map(([name, label, placeholder, secret, kind]) =>
    field(`credentials.${name}`, label, { placeholder, secret, textarea: kind === "textarea" })));
}

// Step 1: the form. On success, goes to the integration's setup.
export function newIntegration(caller) {
  const org = `/v1/orgs/${encodeURIComponent(caller.org_id)}`;
  const providerSelect = element("select", { id: "f-provider", name: "provider" },
    Object.keys(MODES).map((p) => element("option", { value: p }, [{ s3: "Amazon S3 (or S3-compatible)", gcs: "Google Cloud Storage", azure: "Azure Blob Storage" }[p]])));
  const modeSelect = element("select", { id: "f-mode", name: "mode" });
  const credentials = element("div", { class: "credentials" });
  const fillModes = () => {
    modeSelect.replaceChildren(...MODES[providerSelect.value].map((m) => element("option", { value: m.mode }, [m.title])));
    credentialFields(credentials, providerSelect.value, modeSelect.value);
  };
  providerSelect.addEventListener("change", fillModes);
  modeSelect.addEventListener("change", () => credentialFields(credentials, providerSelect.value, modeSelect.value));
  fillModes();
  const top = element("div", { class: "form-problem" });
  const form = element("form", { class: "wizard", novalidate: true }, [
    element("h2", {}, ["1. Where the bucket is"]),
    field("name", "Name", { placeholder: "production uploads" }),
    element("div", { class: "field" }, [element("label", { for: "f-provider" }, ["Provider"]), providerSelect]),
    field("bucket", "Bucket or container"),
    field("prefix", "Prefix (every key byob writes starts with it)", { placeholder: "byob" }),
    field("region", "Region", { placeholder: "eu-central-1" }),
    field("endpoint", "Custom endpoint (S3-compatible or private; optional)"),
    field("allowed_origins", "Browser origins for direct uploads (comma-separated)", { placeholder: "https://app.example.com" }),
    element("fieldset", {}, [element("legend", {}, ["Features"]), ...FEATURES.map((f) =>
      element("label", { class: "check" }, [element("input", { type: "checkbox", name: `feature-${f}` }), ` ${f}`]))]),
    element("h2", {}, ["2. How byob reaches it"]),
    element("div", { class: "field" }, [element("label", { for: "f-mode" }, ["Credential mode"]), modeSelect]),
    credentials,
    element("span", { class: "field-error", "data-error-for": "credentials", role: "status" }),
    top,
    element("button", { type: "submit", id: "save-integration" }, ["Save as draft"]),
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form, top);
    try {
      const created = await api(`${org}/integrations`, { method: "POST", body: request(form) });
      location.hash = `#/integrations/${created.id}`;
    } catch (error) {
      showFieldError(form, top, error);
    }
  });
  return [form];
}

function download(name, text, type) {
  const link = element("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(link);
  link.click();
  link.remove();
}

function artifactText(artifact) {
  return typeof artifact.content === "string" ? artifact.content : JSON.stringify(artifact.content, null, 2);
}

function artifactView(artifact) {
  const text = artifactText(artifact);
  const status = element("span", { class: "copy-status", role: "status" });
  const copy = element("button", { type: "button", "data-copy": artifact.name }, ["Copy"]);
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = "Copied.";
    } catch {
      status.textContent = "Select the text and copy it.";
    }
  });
  const save = element("button", { type: "button", "data-download": artifact.name }, ["Download"]);
  const extension = artifact.format === "json" ? "json" : artifact.format === "sql" ? "sql" : "txt";
  save.addEventListener("click", () => download(`${artifact.name}.${extension}`, text, "text/plain"));
  return element("section", { class: "artifact", "data-artifact-section": artifact.name }, [
    element("h3", {}, [artifact.title]),
    element("p", {}, [artifact.apply]),
    element("pre", { "data-artifact": artifact.name }, [text]),
    element("div", { class: "actions" }, [copy, save, status]),
  ]);
}

// Steps 2 and 3: the integration's setup and its verification.
export async function integrationSetup(caller, id) {
  const base = `/v1/orgs/${encodeURIComponent(caller.org_id)}/integrations/${encodeURIComponent(id)}`;
  const [integration, setup] = await Promise.all([api(base), api(`${base}/setup?format=json`)]);
  const identity = setup.byob_identity || {};
  const facts = [["Integration", `${integration.name} (${integration.id})`], ["State", integration.state]];
  if (identity.aws_principal_arn) facts.push(["byob's AWS principal", identity.aws_principal_arn]);
  const externalId = integration.credentials && integration.credentials.external_id;
  if (externalId) facts.push(["External id", externalId]);
  if (identity.gcp_service_account) facts.push(["byob's service account", identity.gcp_service_account]);
  if (identity.azure_broker_app) facts.push(["byob's application", identity.azure_broker_app]);
  const results = element("div", { class: "results", "aria-live": "polite" });
  const verify = element("button", { type: "button", id: "verify" }, ["Verify"]);
  verify.addEventListener("click", async () => {
    verify.disabled = true;
    results.replaceChildren(element("p", {}, ["Checking the bucket…"]));
    try {
      const report = await api(`${base}/verify`, { method: "POST" });
      results.replaceChildren(checklist(report));
      verify.textContent = "Verify again";
    } catch (error) {
      results.replaceChildren(problem(error));
    } finally {
      verify.disabled = false;
    }
  });
  const whole = element("button", { type: "button", "data-download-format": "json" }, ["Download JSON"]);
  whole.addEventListener("click", () => download("setup.json", JSON.stringify(setup, null, 2), "application/json"));
  const downloads = ["terraform", "cli"].map((format) => {
    const button = element("button", { type: "button", "data-download-format": format }, [format === "terraform" ? "Download Terraform" : "Download CLI script"]);
    button.addEventListener("click", async () => {
      // Terraform and the CLI script come as text, which `api` returns as it is.
      const text = await api(`${base}/setup?format=${format}`);
      download(format === "terraform" ? "main.tf" : "setup.sh", text, "text/plain");
    });
    return button;
  });
  return [
    element("dl", { class: "facts" }, facts.flatMap(([k, v]) => [element("dt", {}, [k]), element("dd", {}, [v])])),
    changes(base, integration),
    element("h2", {}, ["3. Apply the setup"]),
    ...(setup.notes || []).map((note) => element("p", { class: "note" }, [note])),
    element("div", { class: "actions" }, [whole, ...downloads]),
    ...setup.artifacts.map(artifactView),
    element("h2", {}, ["4. Verify"]),
    verify,
    results,
  ];
}

// Later changes: the features and origins, a new
// external id for an assume-role integration (pending until byob has used it), disable and enable.
function changes(base, integration) {
  const slot = element("div", { class: "change-result", "aria-live": "polite" });
  const act = (label, id, path) => {
    const b = element("button", { type: "button", id }, [label]);
    b.addEventListener("click", async () => {
      try {
        const result = await api(`${base}/${path}`, { method: "POST" });
        slot.replaceChildren(element("p", { "data-testid": "change-done" }, [`Done: the integration is ${result.state || "changed"}.`]));
      } catch (error) {
        slot.replaceChildren(problem(error));
      }
    });
    return b;
  };
  const features = FEATURES.map((f) => element("label", { class: "check" }, [
    element("input", { type: "checkbox", name: `change-feature-${f}`, ...((integration.features || []).includes(f) ? { checked: true } : {}) }), ` ${f}`,
  ]));
  const origins = element("input", { id: "change-origins", value: (integration.allowed_origins || []).join(", "), "aria-label": "allowed origins" });
  const save = element("button", { type: "button", id: "save-changes" }, ["Save features and origins"]);
  save.addEventListener("click", async () => {
    const body = {
      features: FEATURES.filter((f) => features[FEATURES.indexOf(f)].querySelector("input").checked),
      allowed_origins: origins.value.split(/[\s,]+/).filter(Boolean),
    };
    try {
      const result = await api(base, { method: "PATCH", body });
      slot.replaceChildren(element("p", { "data-testid": "change-done" }, [`Saved: it serves ${(result.features || []).join(", ") || "no feature"}; the integration is ${result.state}.`]));
    } catch (error) {
      slot.replaceChildren(problem(error));
    }
  });
  const buttons = [
    integration.state === "disabled" ? act("Enable", "enable-integration", "enable") : act("Disable", "disable-integration", "disable"),
  ];
  if (integration.credentials && integration.credentials.mode === "s3_assume_role") {
    buttons.push(act("Rotate external id", "rotate-external-id", "external-id/rotate"), act("Promote the new external id", "promote-external-id", "external-id/promote"));
  }
  return element("details", { class: "changes" }, [
    element("summary", {}, ["Change this integration"]),
    element("fieldset", {}, [element("legend", {}, ["Features"]), ...features]), origins, save,
    element("div", { class: "actions" }, buttons), slot,
  ]);
}
