// The pages an admin (or the operator) manages the org with: members and their tokens, organizations and their
// first admin, connections (create, test), jobs (cancel), the audit log with its filters, webhooks with their
// delivery log, events.

import { api } from "/console/api.js";
import { element, problem, table } from "/console/dom.js";
import { apiForm, newToken } from "/console/forms.js";
import { checklist } from "/console/report.js";

export const orgPath = (org) => `/v1/orgs/${encodeURIComponent(org)}`;
export const items = (value) => (Array.isArray(value) ? value : value && Array.isArray(value.items) ? value.items : []);

function button(label, attributes, onClick) {
  const b = element("button", { type: "button", ...attributes }, [label]);
  b.addEventListener("click", onClick);
  return b;
}

// A button that issues a token for `member` and shows it once in `slot`.
function tokenButton(org, member, slot) {
  return button("Issue a token", { "data-issue-token": member.id }, async () => {
    try {
      const created = await api(`${orgPath(org)}/members/${member.id}/tokens`, { method: "POST", body: { name: "console" } });
      slot.replaceChildren(newToken(created));
    } catch (error) {
      slot.replaceChildren(problem(error));
    }
  });
}

// A member's tokens (never their values), each with Revoke.
function tokensButton(org, member, slot) {
  return button("Tokens", { "data-tokens": member.id }, async () => {
    const show = async () => {
      const tokens = items(await api(`${orgPath(org)}/members/${member.id}/tokens`)).map((t) => ({
        ...t,
        revoke: t.revoked_at ? "revoked" : button("Revoke", { "data-revoke-token": t.id }, async () => {
          try {
            await api(`${orgPath(org)}/members/${member.id}/tokens/${t.id}`, { method: "DELETE" });
            await show();
          } catch (error) {
            slot.replaceChildren(problem(error));
          }
        }),
      }));
      slot.replaceChildren(element("h2", {}, [`Tokens of ${member.name}`]),
        table(tokens, ["name", "prefix", "created_at", "expires_at", "last_used_at", "revoke"]));
    };
    await show().catch((error) => slot.replaceChildren(problem(error)));
  });
}

function memberRows(org, members, slot) {
  return members.map((m) => ({ ...m, token: tokenButton(org, m, slot), tokens: tokensButton(org, m, slot) }));
}

const ROLES = [["member", "member"], ["admin", "admin"]];

export async function membersPage(caller) {
  const org = caller.org_id;
  const slot = element("div", { class: "token-slot" });
  const list = element("div");
  const refresh = async () => list.replaceChildren(table(memberRows(org, items(await api(`${orgPath(org)}/members`)), slot), ["id", "name", "email", "role", "token", "tokens"]));
  await refresh();
  const form = apiForm({
    id: "add-member", submit: "Add member", action: `${orgPath(org)}/members`,
    fields: [{ name: "name", label: "Name" }, { name: "email", label: "Email (optional)" }, { name: "role", label: "Role", kind: "select", options: ROLES }],
    done: async (_, f) => { f.reset(); await refresh(); },
  });
  return [list, slot, element("h2", {}, ["Add a member"]), form];
}

export async function orgsPage() {
  const slot = element("div", { class: "token-slot" });
  const list = element("div");
  const refresh = async () => list.replaceChildren(table(items(await api("/v1/orgs")), ["id", "name", "created_at"]));
  await refresh();
  const adminForm = element("div");
  const form = apiForm({
    id: "create-org", submit: "Create organization", action: "/v1/orgs",
    fields: [{ name: "name", label: "Name" }],
    done: async (org, f) => {
      f.reset();
      await refresh();
      // The org's first admin, and a token for them, shown once.
      adminForm.replaceChildren(element("h2", {}, [`First admin of ${org.name}`]), apiForm({
        id: "first-admin", submit: "Add admin and issue a token", action: `${orgPath(org.id)}/members`,
        fields: [{ name: "name", label: "Name" }, { name: "email", label: "Email (optional)" }],
        body: (values) => ({ ...values, role: "admin" }),
        done: async (member) => {
          const created = await api(`${orgPath(org.id)}/members/${member.id}/tokens`, { method: "POST", body: { name: "first admin" } });
          slot.replaceChildren(newToken(created));
        },
      }));
    },
  });
  return [list, element("h2", {}, ["Create an organization"]), form, adminForm, slot];
}

const PLATFORMS = ["postgres", "mysql", "snowflake", "redshift", "databricks", "trino", "bigquery", "sqlserver"].map((p) => [p, p]);
const TLS = ["prefer", "require", "verify-full", "verify-ca", "disable"].map((t) => [t, t]);

const SCOPES = [["none", "none"], ["byob", "tables byob created"], ["any", "any table"]];

// What members may do through a connection, edited in place (admins).
function accessButton(org, connection, slot, refresh) {
  return button("Member access", { "data-access": connection.name }, () => {
    const a = connection.member_access;
    // Controls are named `access-…`: a form's controls become its properties, and one named `append` would
    // hide the form's own `append()`.
    const check = (name, label) => element("label", { class: "check" }, [
      element("input", { type: "checkbox", name: `access-${name}`, ...(a[name] ? { checked: true } : {}) }), ` ${label}`]);
    const scope = (name, label) => element("label", {}, [`${label} `, element("select", { name: `access-${name}` },
      SCOPES.map(([v, l]) => element("option", { value: v, ...(a[name] === v ? { selected: true } : {}) }, [l])))]);
    const form = element("form", { class: "wizard", id: "member-access" }, [
      element("h2", {}, [`What members may do through ${connection.name}`]),
      check("create_tables", "create tables"), scope("append", "append to"), scope("replace", "replace"),
      check("export_tables", "export tables"), check("run_queries", "run their own SQL"),
      element("label", {}, ["Only in schema ", element("input", { name: "access-schema", value: a.schema || "" })]),
      element("button", { type: "submit", id: "member-access-submit" }, ["Save"]),
    ]);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = (name) => form.querySelector(`[name="access-${name}"]`);
      const member_access = {
        create_tables: value("create_tables").checked, append: value("append").value, replace: value("replace").value,
        export_tables: value("export_tables").checked, run_queries: value("run_queries").checked,
        schema: value("schema").value.trim() || null,
      };
      try {
        await api(`${orgPath(org)}/connections/${encodeURIComponent(connection.name)}`, { method: "PATCH", body: { member_access } });
        slot.replaceChildren(element("p", { "data-testid": "access-saved" }, [`Saved what members may do through ${connection.name}.`]));
        await refresh();
      } catch (error) {
        form.append(problem(error));
      }
    });
    slot.replaceChildren(form);
  });
}

// The connection's report (admins): the path to the platform and what byob may do there, with each fix.
function verifyButton(org, connection, slot) {
  return button("Verify", { "data-verify-connection": connection.name }, async () => {
    slot.replaceChildren(element("p", {}, [`Checking ${connection.name}…`]));
    try {
      const report = await api(`${orgPath(org)}/connections/${encodeURIComponent(connection.name)}/verify`, { method: "POST" });
      const extra = connection.authorized_keys
        ? [element("p", {}, ["The bastion's authorized_keys line:"]), element("pre", { "data-testid": "authorized-keys" }, [connection.authorized_keys])]
        : [];
      slot.replaceChildren(element("h2", {}, [`${connection.name}: verification`]), checklist(report), ...extra);
    } catch (error) {
      slot.replaceChildren(problem(error));
    }
  });
}

export async function connectionsPage(caller) {
  const org = caller.org_id;
  const results = element("div", { class: "test-results", "aria-live": "polite" });
  const list = element("div");
  const refresh = async () => {
    const rows = items(await api(`${orgPath(org)}/connections`)).map((c) => ({
      ...c,
      network: c.network ? c.network.mode : "",
      access: caller.role === "admin" && c.member_access ? accessButton(org, c, results, refresh) : "",
      verify: caller.role === "admin" && c.id ? verifyButton(org, c, results) : "",
      test: button("Test", { "data-test-connection": c.name }, async () => {
        results.replaceChildren(element("p", {}, [`Testing ${c.name}…`]));
        try {
          const outcome = await api(`${orgPath(org)}/connections/${encodeURIComponent(c.name)}/test`, { method: "POST" });
          results.replaceChildren(element("p", { "data-testid": "connection-test", "data-ok": String(outcome.ok) }, [
            outcome.ok ? `${c.name}: connected in ${outcome.duration_ms} ms.` : `${c.name}: ${outcome.error}`,
          ]));
        } catch (error) {
          results.replaceChildren(problem(error));
        }
      }),
    }));
    list.replaceChildren(table(rows, ["name", "platform", "host", "database", "schema", "network", "test", "verify", "access"]));
  };
  await refresh();
  const content = [list, results];
  if (caller.role === "admin") {
    content.push(element("h2", {}, ["Create a connection"]), apiForm({
      id: "create-connection", submit: "Create connection", action: `${orgPath(org)}/connections`,
      fields: [
        { name: "name", label: "Name" }, { name: "platform", label: "Platform", kind: "select", options: PLATFORMS },
        { name: "host", label: "Host" }, { name: "port", label: "Port (default: the platform's)", kind: "number" },
        { name: "database", label: "Database" }, { name: "schema", label: "Schema" }, { name: "user", label: "User" },
        { name: "password", label: "Password or token", kind: "password" }, { name: "tls", label: "TLS", kind: "select", options: TLS },
        { name: "account", label: "Snowflake: account" }, { name: "catalog", label: "Databricks / Trino: catalog" },
        { name: "http_path", label: "Databricks: HTTP path" }, { name: "project", label: "BigQuery: project" },
        { name: "dataset", label: "BigQuery: dataset" },
      ],
      done: async (_, f) => { f.reset(); await refresh(); },
    }));
  }
  return content;
}

export async function jobsPage(caller) {
  const org = caller.org_id;
  const list = element("div");
  const slot = element("div");
  const refresh = async () => {
    const rows = items(await api(`${orgPath(org)}/jobs`)).map((j) => ({
      ...j,
      cancel: ["queued", "running"].includes(j.state)
        ? button("Cancel", { "data-cancel-job": j.id }, async () => {
          try {
            await api(`${orgPath(org)}/jobs/${j.id}/cancel`, { method: "POST" });
            await refresh();
          } catch (error) {
            slot.replaceChildren(problem(error));
          }
        })
        : "",
    }));
    list.replaceChildren(table(rows, ["id", "kind", "state", "created_at", "cancel"]));
  };
  await refresh();
  return [list, slot];
}

export async function auditPage(caller) {
  const org = caller.org_id;
  const list = element("div", { id: "audit-list" });
  const filters = [["action", "Action (e.g. member.create)"], ["actor", "Actor (operator, system or a member id)"], ["target", "Target id"]];
  const outcome = element("select", { name: "outcome", id: "audit-outcome" }, [["", "any outcome"], ["success", "success"], ["failure", "failure"], ["denied", "denied"]].map(([v, l]) => element("option", { value: v }, [l])));
  const inputs = filters.map(([name, label]) => element("input", { name, id: `audit-${name}`, placeholder: label, "aria-label": label }));
  const show = async () => {
    const query = new URLSearchParams();
    for (const input of inputs) if (input.value.trim()) query.set(input.name, input.value.trim());
    if (outcome.value) query.set("outcome", outcome.value);
    try {
      list.replaceChildren(table(items(await api(`${orgPath(org)}/audit?${query}`)), ["at", "action", "actor", "outcome", "target"]));
    } catch (error) {
      list.replaceChildren(problem(error));
    }
    // Which filters the list shows, for whoever waits for it.
    list.setAttribute("data-query", query.toString());
  };
  const form = element("form", { class: "filters", id: "audit-filters" }, [...inputs, outcome, element("button", { type: "submit" }, ["Filter"])]);
  form.addEventListener("submit", (event) => { event.preventDefault(); show(); });
  await show();
  return [form, list];
}

export async function webhooksPage(caller) {
  const org = caller.org_id;
  const log = element("div", { class: "deliveries" });
  const rows = items(await api(`${orgPath(org)}/webhooks`)).map((w) => ({
    ...w,
    deliveries: button("Deliveries", { "data-deliveries": w.id }, async () => {
      try {
        log.replaceChildren(element("h2", {}, [`Deliveries to ${w.url}`]),
          table(items(await api(`${orgPath(org)}/webhooks/${w.id}/deliveries`)), ["event_type", "status", "attempts", "response_status", "created_at"]));
      } catch (error) {
        log.replaceChildren(problem(error));
      }
    }),
  }));
  const secret = element("div", { class: "token-slot" });
  const form = apiForm({
    id: "create-webhook", submit: "Add webhook", action: `${orgPath(org)}/webhooks`,
    fields: [{ name: "url", label: "URL (https)" }, { name: "event_types", label: "Event types (comma-separated; empty for all)" }],
    body: (values) => ({ url: values.url, event_types: (values.event_types || "").split(/[\s,]+/).filter(Boolean) }),
    done: async (created, f) => {
      f.reset();
      secret.replaceChildren(element("p", {}, ["Signing secret — copy it now, it is not shown again: "]),
        element("code", { "data-testid": "webhook-secret" }, [created.secret]));
    },
  });
  const test = button("Send a test event", { id: "test-webhooks" }, async () => {
    try {
      const event = await api(`${orgPath(org)}/webhooks/test`, { method: "POST" });
      log.replaceChildren(element("p", { "data-testid": "test-event" }, [`Queued ${event.type} (${event.id}) for every webhook; its deliveries show in each log.`]));
    } catch (error) {
      log.replaceChildren(problem(error));
    }
  });
  return [table(rows, ["id", "url", "event_types", "deliveries"]), test, log, element("h2", {}, ["Add a webhook"]), form, secret];
}

export async function attachmentsPage(caller) {
  return [table(items(await api(`${orgPath(caller.org_id)}/attachments`)), ["id", "filename", "content_type", "size", "state", "created_at"])];
}

export async function assetsPage(caller) {
  return [table(items(await api(`${orgPath(caller.org_id)}/assets`)), ["name", "version", "size", "content_type", "updated_at"])];
}

export async function eventsPage(caller) {
  return [table(items(await api(`${orgPath(caller.org_id)}/events`)), ["id", "type", "occurred_at", "payload"])];
}

// Pause or resume a scheduled export or import.
function pauseButton(path, item, slot) {
  const paused = item.paused || item.state === "paused";
  return button(paused ? "Resume" : "Pause", { "data-schedule": item.id }, async () => {
    try {
      await api(`${path}/${paused ? "resume" : "pause"}`, { method: "POST" });
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (error) {
      slot.replaceChildren(problem(error));
    }
  });
}

const FORMATS = ["csv", "jsonl", "parquet"].map((f) => [f, f]);

// The export the form describes: `table` or `query`, and a schedule when a cron is given.
function exportBody(values) {
  const body = { ...values };
  if (body.cron) body.schedule = { cron: body.cron, timezone: body.timezone || "UTC" };
  delete body.cron;
  delete body.timezone;
  return body;
}

function exportForm(org, refresh) {
  const preview = element("div", { class: "path-preview", "data-testid": "path-preview", "aria-live": "polite" });
  const form = apiForm({
    id: "create-export", submit: "Create export", action: `${orgPath(org)}/exports`, body: exportBody,
    fields: [
      { name: "name", label: "Name (optional)" }, { name: "connection", label: "Connection", placeholder: "local" },
      { name: "table", label: "Table (or give a query)" }, { name: "query", label: "Query (SELECT …)", kind: "textarea" },
      { name: "format", label: "Format", kind: "select", options: FORMATS },
      { name: "integration", label: "Integration (default: the one serving exports)" },
      { name: "path_template", label: "Path template (default by format)", placeholder: "exports/{{export}}/{{date}}/{{run_id}}/part-{{part}}.csv" },
      { name: "cron", label: "Schedule: cron with seconds (optional)", placeholder: "0 0 6 * * *" },
      { name: "timezone", label: "Schedule: time zone", placeholder: "Europe/Berlin" },
    ],
    done: async (_, f) => { f.reset(); preview.replaceChildren(); await refresh(); },
  });
  const previewButton = button("Preview paths", { id: "preview-export" }, async () => {
    const values = {};
    for (const name of ["path_template", "format", "cron", "timezone"]) {
      const input = form.querySelector(`[name="${name}"]`);
      if (input.value.trim()) values[name] = input.value.trim();
    }
    try {
      const shown = await api(`${orgPath(org)}/exports/preview`, { method: "POST", body: exportBody(values) });
      preview.replaceChildren(element("p", {}, ["The first files would be:"]),
        element("ul", {}, shown.files.map((f) => element("li", {}, [f]))),
        ...(shown.next_runs && shown.next_runs.length ? [element("p", {}, [`Next runs: ${shown.next_runs.join(", ")}`])] : []));
    } catch (error) {
      preview.replaceChildren(problem(error));
    }
  });
  return [form, previewButton, preview];
}

export async function exportsPage(caller) {
  const org = caller.org_id;
  const detail = element("div", { class: "export-runs", "aria-live": "polite" });
  const showRuns = async (e) => {
    const runs = items(await api(`${orgPath(org)}/exports/${e.id}/runs`));
    detail.replaceChildren(element("h2", {}, [`Runs of ${e.name || e.id}`]),
      table(runs.map((r) => ({ ...r, files: (r.files || []).map((f) => f.key).join(", ") })), ["id", "state", "rows", "files", "started_at"]));
  };
  const rows = items(await api(`${orgPath(org)}/exports`)).map((e) => ({
    ...e,
    run: button("Run now", { "data-run-export": e.id }, async () => {
      try {
        await api(`${orgPath(org)}/exports/${e.id}/runs`, { method: "POST" });
        await showRuns(e);
      } catch (error) {
        detail.replaceChildren(problem(error));
      }
    }),
    runs: button("Runs", { "data-export-runs": e.id }, () => showRuns(e).catch((error) => detail.replaceChildren(problem(error)))),
    schedule: e.schedule ? pauseButton(`${orgPath(org)}/exports/${e.id}`, e, detail) : "",
  }));
  const list = element("div", {}, [table(rows, ["id", "name", "connection", "format", "schedule", "run", "runs"])]);
  const refresh = async () => { location.hash = "#/exports"; window.dispatchEvent(new HashChangeEvent("hashchange")); };
  return [list, detail, element("h2", {}, ["Create an export"]), ...exportForm(org, refresh)];
}

export async function importsPage(caller) {
  const org = caller.org_id;
  const detail = element("div", { class: "import-resolve", "aria-live": "polite" });
  const rows = items(await api(`${orgPath(org)}/imports`)).map((i) => ({
    ...i,
    pause: i.schedule ? pauseButton(`${orgPath(org)}/imports/${i.id}`, i, detail) : "",
    resolve: button("What would it import?", { "data-resolve-import": i.id }, async () => {
      try {
        const resolved = await api(`${orgPath(org)}/imports/${i.id}/resolve`);
        const chosen = resolved.chosen;
        const said = chosen
          ? `Would import ${chosen.key} (${chosen.size} bytes)${resolved.already_loaded ? ", but it is the file loaded last, so a run skips it" : ""}: ${resolved.reason}`
          : `Would import nothing: ${resolved.reason}`;
        detail.replaceChildren(element("p", { "data-testid": "would-import" }, [said]),
          ...(resolved.rejected && resolved.rejected.length
            ? [element("p", {}, [`Passed over (${resolved.rejected_total}):`]), table(resolved.rejected, ["key", "reason"])]
            : []));
      } catch (error) {
        detail.replaceChildren(problem(error));
      }
    }),
  }));
  const form = apiForm({
    id: "create-import", submit: "Create import", action: `${orgPath(org)}/imports`,
    fields: [
      { name: "name", label: "Name (optional)" }, { name: "integration", label: "Integration holding the files" },
      { name: "source_mode", label: "Which file", kind: "select", options: [["fixed", "one fixed path"], ["latest", "the latest matching a pattern"]] },
      { name: "path", label: "Path or pattern under the prefix", placeholder: "drops/orders-{{date}}.csv" },
      { name: "connection", label: "Connection", placeholder: "local" }, { name: "table", label: "Table" },
      { name: "load_mode", label: "Load mode", kind: "select", options: [["append", "append"], ["replace", "replace"], ["create", "create"]] },
      { name: "cron", label: "Schedule: cron with seconds (optional)", placeholder: "0 0 6 * * *" },
      { name: "timezone", label: "Schedule: time zone", placeholder: "UTC" },
    ],
    // The form's flat fields as the API's request: the source by its mode, the load's options, the schedule.
    body: (v) => {
      const source = v.source_mode === "latest" ? { mode: "latest", pattern: v.path } : { mode: "fixed", path: v.path };
      const body = { name: v.name, integration: v.integration, source, connection: v.connection, table: v.table, load: { mode: v.load_mode } };
      if (v.cron) body.schedule = { cron: v.cron, timezone: v.timezone || "UTC" };
      return body;
    },
    done: async () => window.dispatchEvent(new HashChangeEvent("hashchange")),
  });
  return [table(rows, ["id", "name", "connection", "table", "schedule", "pause", "resolve"]), detail,
    element("h2", {}, ["Create an import"]), form];
}
