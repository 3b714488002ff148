// Uploads from the browser straight to the bucket: the plan's parts sent in parallel (one at a time where the
// plan says so) to their presigned URLs with a progress bar, each failed part retried (with fresh URLs once they
// expire), the upload completed with every part's ETag; then the preview — delimiter, header, columns with
// editable names and types — and a load into a connection, followed to its end.

import { api } from "/console/api.js";
import { element, problem, table } from "/console/dom.js";

const PARALLEL = 4;
const ATTEMPTS = 4;
const TYPES = ["integer", "decimal", "boolean", "date", "timestamp", "timestamp_tz", "text"];

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Why a part could not reach the bucket: a browser hides the cause of a cross-origin failure, so name what
// is almost always behind it.
function corsError(url) {
  const target = new URL(url, location.href);
  if (target.origin === location.origin) return new Error("The upload could not reach byob; try again.");
  return Object.assign(new Error(
    `The bucket (${target.origin}) did not accept the upload from this page: its CORS rules must allow PUT from ` +
    `${location.origin} and expose ETag. Add ${location.origin} to the integration's allowed origins and apply its ` +
    "`cors` setup artifact, then verify the integration.",
  ), { crossOrigin: true });
}

// One part, by XMLHttpRequest for its progress events; resolves with the part's ETag.
function sendPart(part, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(part.method || "PUT", part.url);
    for (const [name, value] of Object.entries(part.headers || {})) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300 || xhr.status === 308) {
        onProgress(part.length);
        resolve(xhr.getResponseHeader("ETag") || "");
      } else {
        const error = new Error(`the bucket answered ${xhr.status} for part ${part.part_number}`);
        error.status = xhr.status;
        reject(error);
      }
    };
    xhr.onerror = () => reject(corsError(part.url));
    xhr.send(blob);
  });
}

async function uploadFile(org, file, progress) {
  const plan = await api(`${org}/uploads`, {
    method: "POST",
    body: { filename: file.name, size: file.size, content_type: file.type || "text/csv" },
  });
  const id = plan.upload.id;
  const sent = new Map();
  const report = () => {
    const done = [...sent.values()].reduce((a, b) => a + b, 0);
    progress(file.size ? Math.min(100, Math.floor((done * 100) / file.size)) : 100);
  };
  const parts = [...plan.parts];
  const etags = [];
  const send = async (part) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const blob = file.slice(part.offset, part.offset + part.length);
        const etag = await sendPart(part, blob, (loaded) => { sent.set(part.part_number, loaded); report(); });
        etags.push({ part_number: part.part_number, etag });
        return;
      } catch (error) {
        sent.set(part.part_number, 0);
        // A cross-origin refusal does not get better by trying again; anything else is retried.
        if (attempt >= ATTEMPTS || (error.crossOrigin && attempt >= 2)) throw error;
        if (error.status === 403) {
          const fresh = await api(`${org}/uploads/${id}/parts`, { method: "POST", body: { part_numbers: [part.part_number] } });
          const renewed = (fresh.parts || []).find((p) => p.part_number === part.part_number);
          if (renewed) part = renewed;
        }
        await pause(250 * 2 ** attempt);
      }
    }
  };
  const workers = plan.sequential ? 1 : PARALLEL;
  await Promise.all(Array.from({ length: Math.min(workers, parts.length) }, async () => {
    while (parts.length) await send(parts.shift());
  }));
  etags.sort((a, b) => a.part_number - b.part_number);
  if (plan.method === "multipart" && etags.some((p) => !p.etag)) {
    throw new Error("The bucket's answers carry no ETag: its CORS rules must expose ETag (apply the integration's `cors` setup artifact).");
  }
  await api(`${org}/uploads/${id}/complete`, { method: "POST", body: { parts: plan.method === "multipart" ? etags : [] } });
  progress(100);
  return id;
}

function previewView(preview) {
  const delimiter = preview.dialect && preview.dialect.delimiter === "\t" ? "tab" : (preview.dialect || {}).delimiter;
  const columns = preview.columns || [];
  return element("div", { class: "preview" }, [
    element("p", { "data-testid": "dialect" }, [
      `Delimiter ${delimiter}; ${preview.dialect && preview.dialect.has_header ? "the first line is a header" : "no header"}.`,
    ]),
    element("table", { class: "columns" }, [
      element("thead", {}, [element("tr", {}, [element("th", {}, ["Column"]), element("th", {}, ["Type"])])]),
      element("tbody", {}, columns.map((c, i) => element("tr", { "data-column": c.name }, [
        element("td", {}, [element("input", { name: `column-name-${i}`, value: c.name, "data-source": c.name, "aria-label": `name of ${c.name}` })]),
        element("td", {}, [element("select", { name: `column-type-${i}`, "aria-label": `type of ${c.name}` },
          TYPES.map((t) => element("option", { value: t, ...(t === c.type ? { selected: true } : {}) }, [t])))]),
      ]))),
    ]),
    table((preview.rows || []).slice(0, 5).map((row) => Object.fromEntries(columns.map((c, i) => [c.name, row[i]]))), columns.map((c) => c.name)),
  ]);
}

// The overrides the edited preview asks for.
function overrides(container, preview) {
  const result = [];
  (preview.columns || []).forEach((c, i) => {
    const name = container.querySelector(`[name="column-name-${i}"]`).value.trim();
    const type = container.querySelector(`[name="column-type-${i}"]`).value;
    const change = { source: c.name };
    if (name && name !== c.name) change.name = name;
    if (type !== c.type) change.type = type;
    if (Object.keys(change).length > 1) result.push(change);
  });
  return result;
}

async function follow(org, job, shown) {
  for (;;) {
    shown(job);
    if (["succeeded", "failed", "cancelled"].includes(job.state)) return job;
    await pause(500);
    job = await api(`${org}/jobs/${job.id}`);
  }
}

export async function uploadPage(caller) {
  const org = `/v1/orgs/${encodeURIComponent(caller.org_id)}`;
  const connections = await api(`${org}/connections`);
  const input = element("input", { type: "file", id: "file", accept: ".csv,.tsv,.txt,text/csv" });
  const drop = element("div", { class: "drop", id: "drop", tabindex: 0 }, ["Drop a CSV file here, or choose one: ", input]);
  const bar = element("progress", { id: "upload-progress", max: 100, value: 0 });
  const status = element("p", { id: "upload-status", role: "status" });
  const after = element("div", { class: "after-upload" });

  const start = async (file) => {
    if (!file) return;
    after.replaceChildren();
    status.textContent = `Uploading ${file.name}…`;
    try {
      const id = await uploadFile(org, file, (percent) => {
        bar.value = percent;
        bar.setAttribute("data-percent", String(percent));
      });
      status.textContent = `${file.name} is in the bucket.`;
      const preview = await api(`${org}/uploads/${id}/preview`);
      const view = previewView(preview);
      const target = element("input", { id: "load-table", placeholder: "table (or schema.table)", "aria-label": "table" });
      const connection = element("select", { id: "load-connection", "aria-label": "connection" },
        (Array.isArray(connections) ? connections : []).map((c) => element("option", { value: c.name }, [`${c.name} (${c.platform})`])));
      const mode = element("select", { id: "load-mode", "aria-label": "mode" }, ["create", "append", "replace"].map((m) => element("option", { value: m }, [m])));
      const load = element("button", { type: "button", id: "load" }, ["Load"]);
      const outcome = element("div", { class: "outcome", "aria-live": "polite" });
      load.addEventListener("click", async () => {
        load.disabled = true;
        outcome.replaceChildren();
        try {
          const body = { connection: connection.value, table: target.value.trim(), mode: mode.value };
          const columns = overrides(view, preview);
          if (columns.length) body.columns = columns;
          const job = await api(`${org}/uploads/${id}/load`, { method: "POST", body });
          const finished = await follow(org, job, (j) => outcome.replaceChildren(element("p", {}, [
            "Job ", element("strong", { "data-testid": "job-state" }, [j.state]),
            j.result && j.result.rows_loaded !== undefined ? ` — ${j.result.rows_loaded} rows loaded` : "",
          ])));
          if (finished.state !== "succeeded" && finished.error) outcome.append(problem(new Error(finished.error.message)));
        } catch (error) {
          outcome.replaceChildren(problem(error));
        } finally {
          load.disabled = false;
        }
      });
      after.replaceChildren(element("h2", {}, ["Preview"]), view,
        element("h2", {}, ["Load"]), element("div", { class: "actions" }, [connection, target, mode, load]), outcome);
    } catch (error) {
      status.textContent = "";
      after.replaceChildren(problem(error));
    }
  };
  input.addEventListener("change", () => start(input.files[0]));
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    start(event.dataTransfer.files[0]);
  });
  return [drop, bar, status, after];
}
