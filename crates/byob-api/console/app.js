// The console's shell: who is signed in, the pages their role allows, and a router on the URL's fragment
// (the token never goes into a URL).

import { api, ApiError, signIn, signOut, token } from "/console/api.js";
import { element, problem } from "/console/dom.js";
import { pages } from "/console/pages.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const signout = document.getElementById("signout");

let caller = null;

// The page and what follows it in the fragment: `#/integrations/int_…` is page `integrations`, rest `[int_…]`.
function locationParts() {
  return location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
}

function route() {
  return locationParts()[0] || "";
}

// Org pages need an org (the operator has none: it manages orgs); admin pages need an admin.
function allowed(page) {
  if (!caller) return false;
  switch (page.role) {
    case "any": return true;
    case "operator": return caller.kind === "operator";
    case "admin": return caller.kind === "member" && caller.role === "admin";
    default: return caller.kind === "member";
  }
}

function showSignIn(message) {
  caller = null;
  nav.replaceChildren();
  who.textContent = "";
  signout.hidden = true;
  const input = element("input", { id: "token", type: "password", autocomplete: "off", required: true,
    "aria-label": "API token", placeholder: "byob_…" });
  const form = element("form", { class: "signin" }, [
    element("h1", {}, ["Sign in"]),
    element("p", {}, ["Give an API token: an operator's, or a member's from your organization's admin."]),
    input,
    element("button", { type: "submit", id: "signin" }, ["Sign in"]),
  ]);
  if (message) form.append(problem(message));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    signIn(input.value.trim());
    await start();
  });
  main.replaceChildren(form);
  input.focus();
}

function renderNav() {
  const current = route();
  nav.replaceChildren(
    ...pages.filter(allowed).map((page) =>
      element("a", { href: `#/${page.path}`, "data-page": page.path, ...(page.path === current ? { "aria-current": "page" } : {}) },
        [page.title])),
  );
  who.textContent = caller.kind === "operator" ? "operator" : `${caller.role} of ${caller.org_id}`;
  signout.hidden = false;
}

async function render() {
  if (!caller) return;
  renderNav();
  const path = route();
  const page = pages.find((p) => p.path === path);
  if (!page) {
    main.replaceChildren(element("h1", {}, ["Not found"]), element("p", {}, ["There is no such page."]));
    return;
  }
  if (!allowed(page)) {
    main.replaceChildren(
      element("h1", {}, [page.title]),
      element("p", { "data-testid": "forbidden" }, [
        page.role === "operator" ? "This page is for the operator." :
        page.role === "admin" ? "This page is for your organization's admins." : "This page is for members of an organization.",
      ]),
    );
    return;
  }
  main.replaceChildren(element("h1", {}, [page.title]), element("p", {}, ["Loading…"]));
  try {
    const content = await page.render(caller, locationParts().slice(1).filter(Boolean));
    main.replaceChildren(element("h1", {}, [page.title]), ...content);
  } catch (error) {
    main.replaceChildren(element("h1", {}, [page.title]), problem(error));
  }
}

async function start() {
  if (!token()) {
    showSignIn();
    return;
  }
  try {
    caller = await api("/v1/whoami");
  } catch (error) {
    signOut();
    showSignIn(error instanceof ApiError && error.status === 401
      ? new ApiError(401, { detail: "That token was refused: check it, or ask your admin for a new one." }, error.requestId)
      : error);
    return;
  }
  await render();
}

signout.addEventListener("click", () => {
  signOut();
  showSignIn();
});
window.addEventListener("hashchange", render);
start();
