// Cairn dashboard: refreshes the server-rendered pages and sends the
// actions to the JSON API with the session's CSRF token. No framework.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf || "";
  const refresh = parseInt(document.body.dataset.refresh || "0", 10);

  // Reload the page's main section every `refresh` seconds, unless the
  // user is typing in it.
  let pending = 0; // actions in flight: no reload under them
  function busy() {
    if (pending > 0) return true;
    const a = document.activeElement;
    return a && a.closest && a.closest("main") && /INPUT|TEXTAREA|SELECT/.test(a.tagName);
  }
  async function reload(force) {
    if (!force && busy()) return;
    const u = new URL(location.href);
    u.searchParams.set("fragment", "1");
    const t0 = performance.now();
    const r = await fetch(u, { credentials: "same-origin" });
    if (r.redirected || r.status === 401) { location.href = "/login"; return; }
    if (!r.ok) return;
    const html = await r.text();
    if (!force && busy()) return;
    // Replies shown in forms (found by id) survive the reload.
    const main = document.getElementById("main");
    const keep = {};
    for (const o of main.querySelectorAll("form[id] output")) {
      if (o.textContent) keep[o.closest("form").id] = [o.className, o.textContent];
    }
    main.innerHTML = html;
    for (const id in keep) {
      const o = document.querySelector("#" + CSS.escape(id) + " output");
      if (o) { o.className = keep[id][0]; o.textContent = keep[id][1]; }
    }
    const ms = document.getElementById("render-ms");
    if (ms) ms.textContent = (performance.now() - t0).toFixed(1);
    wire(document.getElementById("main"));
  }
  if (refresh > 0) setInterval(() => reload().catch(() => {}), refresh * 1000);

  // Serialize a form for the JSON API: data-int fields as numbers,
  // data-list fields as arrays of words, checkboxes as booleans.
  function body(form) {
    const o = {};
    for (const el of form.elements) {
      if (!el.name || el.type === "file") continue;
      if (el.type === "checkbox") { o[el.name] = el.checked; continue; }
      let v = el.value;
      if (el.dataset.int !== undefined) { if (v === "") continue; v = parseInt(v, 10); }
      else if (el.dataset.list !== undefined) v = v.trim() === "" ? [] : v.trim().split(/\s+/);
      else if (el.name === "force") v = v === "true";
      o[el.name] = v;
    }
    return o;
  }

  function show(out, ok, text) {
    if (!out) return;
    out.classList.toggle("ok", ok);
    out.classList.toggle("err", !ok);
    out.textContent = text;
  }

  function render(data) {
    if (data.hits) {
      if (!data.hits.length) return "no results (" + data.total + ")";
      return data.hits.map((h, i) => (i + 1) + ". " + h.key + "  score " + h.score).join("\n");
    }
    if (data.library) return "loaded library " + data.library;
    if (data.text !== undefined) return data.text;
    if (data.reply !== undefined) return JSON.stringify(data.reply);
    return JSON.stringify(data);
  }

  async function submit(form, ev) {
    ev.preventDefault();
    if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
    const out = form.querySelector("output");
    // A promotion first fetches the loss report and shows it in the
    // confirmation; a forced one sends the loss the user accepted, and
    // the node refuses it (409) if the report has grown since.
    let extra = {};
    if (form.dataset.report) {
      show(out, true, "reading the loss report…");
      const rr = await fetch("/api/ops/promote/report", { credentials: "same-origin" });
      const rep = await rr.json().catch(() => ({ error: rr.statusText }));
      if (!rr.ok) { show(out, false, (rr.status === 403 ? "403 forbidden: " : "") + (rep.error || rr.status)); return; }
      if (!confirm(rep[form.dataset.report] + "\n\nContinue?")) { show(out, true, "cancelled"); return; }
      if (form.dataset.report === "forced") extra.max_loss = rep.forced_loss_entries;
    }
    const opts = { method: form.dataset.method || "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (form.dataset.multipart !== undefined) {
      const fd = new FormData(form);
      if (form._file) fd.set("file", form._file, form._file.name);
      opts.body = fd;
    } else if (opts.method !== "DELETE") {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(Object.assign(body(form), extra));
    }
    show(out, true, "…");
    // A form's <progress> runs while its action is in flight.
    const bar = form.querySelector("progress");
    if (bar) bar.hidden = false;
    pending++;
    try {
      const r = await fetch(form.dataset.api, opts);
      const data = await r.json().catch(() => ({ error: r.statusText }));
      if (!r.ok) { show(out, false, (r.status === 403 ? "403 forbidden: " : "") + (data.error || r.status)); return; }
      show(out, true, render(data));
      // Actions that change what the page shows reload it.
      if (form.dataset.reload !== undefined) setTimeout(() => reload(true).catch(() => {}), 300);
    } catch (e) {
      show(out, false, String(e));
    } finally {
      if (bar) bar.hidden = true;
      pending--;
    }
  }

  function wire(root) {
    for (const f of root.querySelectorAll("form[data-api]")) {
      f.addEventListener("submit", (ev) => submit(f, ev));
    }
    for (const d of root.querySelectorAll("form.drop")) {
      d.addEventListener("dragover", (e) => { e.preventDefault(); d.classList.add("over"); });
      d.addEventListener("dragleave", () => d.classList.remove("over"));
      d.addEventListener("drop", (e) => {
        e.preventDefault();
        d.classList.remove("over");
        const f = e.dataTransfer.files[0];
        if (!f) return;
        d._file = f;
        const name = d.querySelector("input[name=name]");
        if (name && !name.value) name.value = f.name.replace(/\.wasm$/, "").replace(/[^A-Za-z0-9_]/g, "_");
        show(d.querySelector("output"), true, "ready: " + f.name + " (" + f.size + " bytes)");
      });
    }
  }
  wire(document);
})();
