// The console's pages: what each shows and who may open it (`member`, `admin` or `operator`).

import { api } from "/console/api.js";
import { element, table } from "/console/dom.js";
import {
  assetsPage, attachmentsPage, auditPage, connectionsPage, eventsPage, exportsPage, importsPage, items, jobsPage, membersPage, orgPath, orgsPage, webhooksPage,
} from "/console/manage.js";
import { uploadPage } from "/console/upload.js";
import { integrationSetup, newIntegration } from "/console/wizard.js";

const org = (caller) => orgPath(caller.org_id);

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
    render: connectionsPage,
  },
  {
    path: "exports", title: "Exports", role: "member",
    render: exportsPage,
  },
  {
    path: "imports", title: "Imports", role: "member",
    render: importsPage,
  },
  {
    path: "jobs", title: "Jobs", role: "member",
    render: jobsPage,
  },
  {
    path: "attachments", title: "Attachments", role: "member",
    render: attachmentsPage,
  },
  {
    path: "assets", title: "Assets", role: "member",
    render: assetsPage,
  },
  {
    path: "events", title: "Events", role: "member",
    render: eventsPage,
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
    render: membersPage,
  },
  {
    path: "audit", title: "Audit log", role: "admin",
    render: auditPage,
  },
  {
    path: "webhooks", title: "Webhooks", role: "admin",
    render: webhooksPage,
  },
  {
    path: "orgs", title: "Organizations", role: "operator",
    render: orgsPage,
  },
];
