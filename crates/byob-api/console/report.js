// A verification report as a checklist: each check's status and message, and for a failure its fix (the action,
// the setup artifact that holds it, the exact statement). Integrations' and connections' reports alike.

import { element } from "/console/dom.js";

export function checklist(report) {
  // An integration's report has a state; a connection's does not.
  const state = report.state_after
    ? [element("p", {}, ["State: ", element("strong", { "data-testid": "state" }, [report.state_after])])]
    : [];
  return element("div", { class: "report" }, [
    ...state,
    element("ul", { class: "checks" }, report.checks.map((check) => {
      const item = element("li", { "data-check": check.name, "data-status": check.status, class: `check-${check.status}` }, [
        element("strong", {}, [check.name]), ` — ${check.status}: ${check.message}`,
      ]);
      if (check.remediation) {
        item.append(element("div", { class: "fix" }, [
          `Fix: ${check.remediation.action}`,
          check.remediation.artifact ? ` (artifact ${check.remediation.artifact})` : "",
        ]));
        if (check.remediation.statement) {
          item.append(element("pre", { class: "statement" }, [JSON.stringify(check.remediation.statement, null, 2)]));
        }
      }
      return item;
    })),
  ]);
}
