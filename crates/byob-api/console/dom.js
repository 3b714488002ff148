// Small helpers to build the page from data: text is always set as text, never parsed as HTML.

export function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === undefined || value === null) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A problem as the API described it: its detail, and the request id to quote to the operator.
export function problem(error) {
  const box = element("div", { class: "problem", role: "alert", "data-testid": "problem" }, [
    String(error && error.message ? error.message : error),
  ]);
  if (error && error.requestId) {
    box.append(element("span", { class: "request" }, [`request id ${error.requestId}`]));
  }
  return box;
}

// Rows of objects as a table of the named columns (nested values as JSON).
export function table(rows, columns) {
  if (!rows || rows.length === 0) return element("p", { class: "empty" }, ["Nothing yet."]);
  const cell = (value) => (value === null || value === undefined ? "" : value instanceof Node ? value : typeof value === "object" ? JSON.stringify(value) : value);
  return element("table", {}, [
    element("thead", {}, [element("tr", {}, columns.map((c) => element("th", { scope: "col" }, [c])))]),
    element("tbody", {}, rows.map((row) => element("tr", {}, columns.map((c) => element("td", {}, [cell(row[c])]))))),
  ]);
}
