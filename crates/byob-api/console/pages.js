// The console's pages: what each shows and who may open it (`member`, `admin` or `operator`).

import { api } from "/console/api.js";
import { element, table } from "/console/dom.js";
import { uploadPage } from "/console/upload.js";
import { integrationSetup, newIntegration } from "/console/wizard.js";

const org = (caller) => `/v1/orgs/${encodeURIComponent(caller.org_id)}`;
const items = (value) => (Array.isArray(value) ? value : value && Array.isArray(value.items) ? value.items : []);

async function list(path, columns) {
  return [table(items(await api(path)), columns)];
}

export const pages = [
  {
    path: "", title: "Home", role: "any",
    render: async (caller) => [
      element("p", {}, [caller.kind === "operator"
        ? "You are signed in as the operator: you manage organizations."
        : `You are signed in as ${caller.role === "admin" ? "an admin" : "a member"} of organization ${caller.org_id}.`]),
    ],
  },
  {
    path: "upload", title: "Upload", role: "member",
    render: (caller) => uploadPage(caller),
  },
  {
    path: "connections", title: "Connections", role: "member",
    render: (caller) => list(`${org(caller)}/connections`, ["name", "platform", "host", "database", "schema"]),
  },
  {
    path: "jobs", title: "Jobs", role: "member",
    render: (caller) => list(`${org(caller)}/jobs`, ["id", "kind", "state", "created_at"]),
  },
  {
    path: "integrations", title: "Integrations", role: "admin",
    render: async (caller, [id]) => {
      if (id === "new") return newIntegration(caller);
      if (id) return integrationSetup(caller, id);
      const rows = items(await api(`${org(caller)}/integrations`));
      const linked = rows.map((row) => ({ ...row, name: element("a", { href: `#/integrations/${encodeURIComponent(row.id)}` }, [row.name]) }));
      return [
        element("p", {}, [element("a", { href: "#/integrations/new", id: "new-integration" }, ["New integration"])]),
        table(linked, ["name", "provider", "bucket", "prefix", "state"]),
      ];
    },
  },
  {
    path: "members", title: "Members", role: "admin",
    render: (caller) => list(`${org(caller)}/members`, ["id", "email", "role", "created_at"]),
  },
  {
    path: "audit", title: "Audit log", role: "admin",
    render: (caller) => list(`${org(caller)}/audit`, ["at", "action", "outcome", "target"]),
  },
  {
    path: "orgs", title: "Organizations", role: "operator",
    render: () => list("/v1/orgs", ["id", "name", "created_at"]),
  },
];
