// The agent page.  It talks to this service's JSON API only (GET /v1/policy, /v1/vocabulary;
// POST /v1/explain, /v1/timeline, /v1/queue) and builds everything with DOM calls and
// textContent: no text from a ticket or a policy is ever parsed as HTML.
"use strict";

const state = { digest: null, vocabulary: null, facts: new Map() };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// --------------------------------------------------------------------------- the API
async function api(method, path, body) {
  const headers = {};
  const token = sessionStorage.getItem("triage-token");
  if (token) headers["Authorization"] = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch (err) {
    return { status: 0, data: { error: "the service did not answer: " + err.message } };
  }
  const type = response.headers.get("content-type") || "";
  const text = await response.text();
  let data = text;
  if (type.includes("json")) {
    try { data = JSON.parse(text); } catch (err) { data = { error: "unreadable answer from the service" }; }
  }
  if (response.status === 401) {
    $("token-box").open = true;
    $("token").focus();
  }
  return { status: response.status, data };
}

function errorText(data) {
  if (data && typeof data === "object") return data.error || JSON.stringify(data);
  return String(data);
}

// --------------------------------------------------------------------------- time
function formatInstant(iso, timeZone) {
  const date = new Date(iso);
  if (isNaN(date)) return iso;
  const options = { weekday: "short", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
                    minute: "2-digit", hourCycle: "h23", timeZoneName: "short" };
  if (timeZone) options.timeZone = timeZone;
  let parts;
  try { parts = new Intl.DateTimeFormat("en-GB", options).formatToParts(date); } catch (err) { return iso; }
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.weekday} ${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
}

// the wall time an ISO instant was written in (the calendar's zone, as the service writes due dates)
function formatWall(iso) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::[\d.]+)?([+-]\d{2}:\d{2}|Z)$/.exec(iso || "");
  if (!match) return iso;
  const [, y, mo, d, h, mi, offset] = match;
  const weekday = new Date(Date.UTC(+y, +mo - 1, +d)).toLocaleDateString("en-GB", { weekday: "short", timeZone: "UTC" });
  return `${weekday} ${y}-${mo}-${d} ${h}:${mi} ${offset === "Z" ? "UTC" : "UTC" + offset}`;
}

function localZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
}

function nowWithOffset() {
  const d = new Date();
  const pad = (n) => String(Math.abs(n)).padStart(2, "0");
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:00` +
         `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
}

// --------------------------------------------------------------------------- the form
const FIRST = ["id", "created_at", "requester"];

function factOrder(facts) {
  const first = FIRST.map((n) => facts.find((f) => f.name === n)).filter(Boolean);
  return first.concat(facts.filter((f) => !FIRST.includes(f.name)));
}

function fieldShell(fact, tag) {
  const wrap = el(tag, { className: "field", id: "field-" + fact.name, "data-field": fact.name, "data-type": fact.type });
  const title = el(tag === "fieldset" ? "legend" : "label", tag === "fieldset" ? {} : { for: "f-" + fact.name },
                   fact.name, fact.required ? el("abbr", { title: "required" }, " *") : null,
                   el("span", { className: "badge", id: "b-" + fact.name }, "needed"));
  wrap.append(title);
  if (fact.description) wrap.append(el("span", { className: "desc", id: "d-" + fact.name }, describe(fact)));
  return wrap;
}

function describe(fact) {
  const bounds = [];
  if (fact.minimum !== undefined) bounds.push("min " + fact.minimum);
  if (fact.maximum !== undefined) bounds.push("max " + fact.maximum);
  if (fact.max_length !== undefined) bounds.push("up to " + fact.max_length + " characters");
  return (fact.description || "") + (bounds.length ? " (" + bounds.join(", ") + ")" : "");
}

function errorSlot(fact) {
  return el("p", { className: "error", id: "e-" + fact.name, hidden: true });
}

function describedBy(fact) {
  return (fact.description ? "d-" + fact.name + " " : "") + "e-" + fact.name;
}

function buildField(fact) {
  const name = fact.name;
  const id = "f-" + name;
  if (fact.type === "boolean") {
    const wrap = fieldShell(fact, "fieldset");
    const value = el("input", { type: "checkbox", id, name, "aria-describedby": describedBy(fact) });
    const unknown = el("input", { type: "checkbox", id: "u-" + name, checked: true, "aria-describedby": describedBy(fact) });
    value.addEventListener("change", () => { unknown.checked = false; });
    wrap.append(el("label", { className: "check", for: id }, value, "yes (" + name + ")"),
                el("label", { className: "check", for: "u-" + name }, unknown, "not known"), errorSlot(fact));
    return wrap;
  }
  if (fact.type === "override") {
    const wrap = fieldShell(fact, "fieldset");
    const select = el("select", { id: id + "-priority", name: name + ".priority", "aria-describedby": describedBy(fact) },
                      el("option", { value: "" }, "(no override)"));
    for (const p of fact.priorities || state.vocabulary.priorities) select.append(el("option", { value: p }, p));
    const reason = el("input", { type: "text", id: id + "-reason", name: name + ".reason", autocomplete: "off",
                                 "aria-describedby": describedBy(fact) });
    wrap.append(el("label", { for: id + "-priority" }, "priority"), select,
                el("label", { for: id + "-reason" }, "reason"), reason, errorSlot(fact));
    return wrap;
  }
  const wrap = fieldShell(fact, "div");
  let input;
  if (fact.type === "enum") {
    input = el("select", { id, name, "aria-describedby": describedBy(fact) }, el("option", { value: "" }, "(not known)"));
    for (const v of fact.values || []) input.append(el("option", { value: v }, v));
  } else if (fact.type === "integer" || fact.type === "number") {
    input = el("input", { type: "number", id, name, inputmode: fact.type === "integer" ? "numeric" : "decimal",
                          step: fact.type === "integer" ? "1" : "any", min: fact.minimum, max: fact.maximum,
                          "aria-describedby": describedBy(fact) });
  } else {
    input = el("input", { type: "text", id, name, autocomplete: "off", maxlength: fact.max_length,
                          placeholder: fact.type === "datetime" ? "2024-03-27T16:00:00+01:00" : null,
                          "aria-describedby": describedBy(fact), "aria-required": fact.required ? "true" : null });
  }
  wrap.append(input, errorSlot(fact));
  return wrap;
}

function readForm() {
  const values = {};
  for (const node of $("fields").querySelectorAll("input, select")) {
    values[node.id] = node.type === "checkbox" ? node.checked : node.value;
  }
  return values;
}

function buildForm(vocabulary) {
  const before = $("fields").querySelector("input, select") ? readForm() : null;
  state.vocabulary = vocabulary;
  state.facts = new Map(vocabulary.facts.map((f) => [f.name, f]));
  const box = $("fields");
  box.replaceChildren(...factOrder(vocabulary.facts).map(buildField));
  if (before) {
    for (const [id, value] of Object.entries(before)) {
      const node = document.getElementById(id);
      if (!node) continue;
      if (node.type === "checkbox") node.checked = value; else node.value = value;
    }
  } else {
    if ($("f-id")) $("f-id").value = "from-agent-page";
    if ($("f-created_at")) $("f-created_at").value = nowWithOffset();
  }
}

function ticketFromForm() {
  const ticket = {};
  for (const fact of state.facts.values()) {
    const name = fact.name;
    if (fact.type === "boolean") {
      if (!$("u-" + name).checked) ticket[name] = $("f-" + name).checked;
    } else if (fact.type === "override") {
      const priority = $("f-" + name + "-priority").value;
      const reason = $("f-" + name + "-reason").value;
      if (priority || reason) ticket[name] = { priority, reason };
    } else {
      const input = $("f-" + name);
      const text = input.value.trim();
      if (fact.type === "integer" || fact.type === "number") {
        if (text !== "") ticket[name] = Number(text);
        else if (input.validity && input.validity.badInput) ticket[name] = "not a number";
      } else if (text !== "") {
        ticket[name] = text;
      }
    }
  }
  return ticket;
}

// --------------------------------------------------------------------------- errors next to fields
function clearErrors() {
  for (const node of document.querySelectorAll("#fields .field.invalid")) node.classList.remove("invalid");
  for (const node of document.querySelectorAll("#fields .error")) { node.hidden = true; node.textContent = ""; }
  for (const node of document.querySelectorAll("#fields [aria-invalid]")) node.removeAttribute("aria-invalid");
  $("form-error").hidden = true;
}

function showErrors(record) {
  const problems = record.problems || [{ field: record.field, error: record.error }];
  let first = null;
  const general = [];
  for (const problem of problems) {
    const field = String(problem.field || "").split(/[.[]/)[0];
    const slot = field && document.getElementById("e-" + field);
    if (!slot) { general.push((problem.field ? problem.field + ": " : "") + problem.error); continue; }
    const wrap = $("field-" + field);
    wrap.classList.add("invalid");
    slot.hidden = false;
    slot.textContent = (slot.textContent ? slot.textContent + "; " : "") + problem.field + ": " + problem.error;
    for (const input of wrap.querySelectorAll("input, select")) input.setAttribute("aria-invalid", "true");
    first = first || wrap.querySelector("input, select");
  }
  if (general.length) { $("form-error").textContent = general.join("; "); $("form-error").hidden = false; }
  if (first) first.focus();
}

// --------------------------------------------------------------------------- the decision
function priorityName(decision, priority) {
  const targets = state.vocabulary && state.vocabulary.targets[decision.targets];
  const entry = targets && targets.priorities[priority];
  return entry ? entry.name : "";
}

function markNeeded(review) {
  for (const node of document.querySelectorAll("#fields .field.needed")) node.classList.remove("needed");
  if (!review) return;
  for (const fact of review.missing) {
    const wrap = $("field-" + fact);
    if (!wrap) continue;
    wrap.classList.add("needed");
    $("b-" + fact).textContent = "could make it " + review.could_be;
  }
}

function renderDecision(record) {
  const d = record.decision;
  const zone = record.calendar.timezone;
  const box = $("decision");
  const rules = el("ul", { className: "rules", id: "matched-rules" });
  for (const rule of record.matched_rules) {
    rules.append(el("li", { className: rule.decided ? "decided" : null, "data-rule": rule.id, "data-priority": rule.priority },
                    el("strong", {}, rule.priority), " ", el("code", {}, rule.id), rule.decided ? " (deciding)" : "",
                    ": ", rule.description || ""));
  }
  const decided = record.matched_rules.find((r) => r.decided);
  let why;
  if (d.override) why = `set by the support team (the rules gave ${d.rules_priority}): ${d.override.reason || ""}`;
  else if (decided) why = `decided by ${decided.kind === "cell" ? "table cell" : "rule"} ${decided.id}: ${decided.description || ""}`;
  else why = "no rule matched: the policy's default priority";

  const children = [
    el("div", { className: "priority", id: "priority", "data-priority": d.priority },
       el("span", { className: "priority-code" }, d.priority),
       el("span", { className: "priority-name", id: "priority-name" }, priorityName(d, d.priority))),
    el("p", { id: "decided-by" }, why),
  ];
  if (d.review) {
    const facts = d.review.missing;
    const hint = el("p", { className: "review", id: "review-hint", "data-could-be": d.review.could_be,
                           "data-missing": facts.join(" ") }, `could be ${d.review.could_be} if `);
    facts.forEach((fact, i) => {
      if (i > 0) hint.append(i === facts.length - 1 ? " and " : ", ");
      const link = el("a", { href: "#field-" + fact }, el("code", {}, fact));
      link.addEventListener("click", (event) => {
        event.preventDefault();
        const target = $("field-" + fact).querySelector("input, select");
        if (target) target.focus();
      });
      hint.append(link);
    });
    hint.append(facts.length === 1 ? " was known" : " were known", " (those fields are marked in the form)");
    children.push(hint);
  }
  children.push(el("h3", {}, "Matched rules"),
                record.matched_rules.length ? rules : el("p", { className: "empty" }, "none"));

  const table = el("table", { id: "due-dates" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Target"), el("th", { scope: "col" }, "Duration"),
                       el("th", { scope: "col" }, `Due (calendar, ${zone})`),
                       el("th", { scope: "col" }, `Due (your time, ${localZone()})`))));
  const body = el("tbody");
  for (const due of record.due) {
    body.append(el("tr", { "data-kind": due.kind, "data-due": due.due },
                   el("th", { scope: "row" }, due.kind), el("td", {}, due.duration),
                   el("td", { className: "due-calendar" }, formatInstant(due.due, zone)),
                   el("td", { className: "due-local" }, formatInstant(due.due))));
  }
  const op = d.operator_sla;
  if (op) {
    for (const [kind, key] of [["operator 1st level", "first_level_due"], ["operator 2nd level", "second_level_due"],
                               ["operator total", "total_due"]]) {
      if (!op[key]) continue;
      body.append(el("tr", { "data-kind": key, "data-due": op[key] }, el("th", { scope: "row" }, kind),
                     el("td", {}, `${op.id || ""} ${op.name || ""}`), el("td", { className: "due-calendar" },
                     formatInstant(op[key], op.timezone || zone)), el("td", { className: "due-local" }, formatInstant(op[key]))));
    }
  }
  table.append(body);
  const route = record.route ? `routed by ${record.route.id}: ${record.route.description || ""}` : "the policy's default targets";
  children.push(el("h3", {}, "Targets and due dates"),
                el("p", { id: "targets" }, `${d.targets}: ${route}; calendar ${record.calendar.name} (${zone})`),
                el("div", { className: "scroll" }, table),
                el("details", {}, el("summary", {}, "How the business time was counted"),
                   el("pre", { className: "walk" }, (record.lines || []).join("\n"))),
                el("p", { className: "policy", id: "policy" },
                   `policy ${d.policy.digest}, revision ${d.policy.revision || "-"}: ${(d.policy.documents || []).join(", ")}`));
  box.replaceChildren(...children);
  markNeeded(d.review);
}

// --------------------------------------------------------------------------- pictures
function showSvg(container, answer) {
  if (answer.status !== 200 || typeof answer.data !== "string") {
    container.replaceChildren(el("p", { className: "error", role: "alert" }, "no picture: " + errorText(answer.data)));
    return;
  }
  const doc = new DOMParser().parseFromString(answer.data, "image/svg+xml");
  if (doc.getElementsByTagName("parsererror").length) {
    container.replaceChildren(el("p", { className: "error" }, "the picture could not be read"));
    return;
  }
  container.replaceChildren(document.importNode(doc.documentElement, true));
}

let asked = 0;  // the latest request for a decision: an answer to an older one is dropped

async function decide(event) {
  event.preventDefault();
  clearErrors();
  const body = JSON.stringify(ticketFromForm());
  const mine = ++asked;
  $("decide").disabled = true;
  let answer;
  try {
    answer = await api("POST", "/v1/explain", body);
  } finally {
    if (mine === asked) $("decide").disabled = false;
  }
  if (mine !== asked) return;
  if (answer.status === 422) { showErrors(answer.data); markNeeded(null); return; }
  if (answer.status !== 200) {
    $("form-error").textContent = errorText(answer.data);
    $("form-error").hidden = false;
    return;
  }
  renderDecision(answer.data);
  $("timeline-section").hidden = false;
  const picture = await api("POST", "/v1/timeline", body);
  if (mine === asked) showSvg($("timeline"), picture);
}

// --------------------------------------------------------------------------- the event log
function parseLog(text) {
  const trimmed = text.trim();
  if (!trimmed) throw new Error("the event log is empty");
  if (trimmed.startsWith("[")) {
    try { return JSON.parse(trimmed); } catch (err) { throw new Error("not a JSON array: " + err.message); }
  }
  const events = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    try { events.push(JSON.parse(line)); } catch (err) { throw new Error(`line ${i + 1}: invalid JSON`); }
  });
  return events;
}

function nextDue(record) {
  const metrics = Object.entries(record.metrics || {});
  if (record.operator_sla) {
    for (const key of ["first_level", "second_level"]) if (record.operator_sla[key]) metrics.push([key, record.operator_sla[key]]);
  }
  const running = metrics.filter(([, m]) => m.state !== "not_started" && !m.stopped_at && m.due);
  const moving = running.filter(([, m]) => m.state !== "paused");
  const pool = moving.length ? moving : running;
  pool.sort((a, b) => new Date(a[1].due) - new Date(b[1].due));
  return pool[0] || null;
}

function timeLeft(seconds) {
  const abs = Math.abs(seconds);
  const h = Math.floor(abs / 3600), m = Math.floor((abs % 3600) / 60);
  const text = (h ? h + "h" : "") + (m || !h ? m + "m" : "");
  return seconds < 0 ? text + " over" : text;
}

async function showQueue(event) {
  event.preventDefault();
  for (const id of ["events-error", "events-now-error"]) $(id).hidden = true;
  let events;
  try { events = parseLog($("events-text").value); } catch (err) {
    $("events-error").textContent = "event log: " + err.message;
    $("events-error").hidden = false;
    return;
  }
  const now = $("events-now").value.trim();
  const query = now ? "?now=" + encodeURIComponent(now) : "";
  const answer = await api("POST", "/v1/queue" + query, JSON.stringify(events));
  if (answer.status !== 200) {
    const target = answer.data && answer.data.field === "now" ? "events-now-error" : "events-error";
    $(target).textContent = errorText(answer.data);
    $(target).hidden = false;
    return;
  }
  const body = $("queue").querySelector("tbody");
  const rows = [], notes = [];
  let n = 0;
  for (const record of answer.data) {
    if (record.error !== undefined) {
      notes.push(`line ${record.line}: ${record.ticket_id ? "ticket " + record.ticket_id + ": " : ""}` +
                 `${record.field ? record.field + ": " : ""}${record.error}`);
      continue;
    }
    n += 1;
    const next = nextDue(record);
    const m = next && next[1];
    // in the zone the due date counts in: the location's for an operator level, else the calendar's
    const zone = next && (next[0].endsWith("_level") ? (record.operator_sla || {}).timezone
                                                      : ((state.vocabulary.calendars || {})[record.calendar] || {}).timezone);
    rows.push(el("tr", { "data-ticket": record.ticket_id, className: m && m.state === "breached" ? "breached" : null },
                 el("td", {}, n), el("th", { scope: "row" }, record.ticket_id), el("td", {}, record.priority),
                 el("td", {}, record.status), el("td", {}, m ? (zone ? formatInstant(m.due, zone) : formatWall(m.due)) : "-"),
                 el("td", {}, next ? next[0] : "-"), el("td", {}, m ? m.state : "-"),
                 el("td", {}, m ? timeLeft(m.remaining_seconds) : "-")));
  }
  body.replaceChildren(...rows);
  $("queue-notes").textContent = notes.length ? "Refused: " + notes.join("; ") : "";
  const ids = [...new Set(events.map((e) => e && e.ticket_id).filter((id) => typeof id === "string" && id))];
  $("events-ticket").replaceChildren(...ids.map((id) => el("option", { value: id }, id)));
  $("queue-box").hidden = false;
  if (ids.length) await drawClock();
}

async function drawClock() {
  const id = $("events-ticket").value;
  if (!id) return;
  let events;
  try { events = parseLog($("events-text").value); } catch (err) { return; }
  const now = $("events-now").value.trim();
  const query = "?ticket_id=" + encodeURIComponent(id) + (now ? "&now=" + encodeURIComponent(now) : "");
  showSvg($("clock-timeline"), await api("POST", "/v1/timeline" + query, JSON.stringify(events)));
}

// --------------------------------------------------------------------------- the policy, and reloads
async function checkPolicy() {
  const answer = await api("GET", "/v1/policy");
  if (answer.status !== 200) {
    $("policy-status").textContent = "policy: " + errorText(answer.data);
    return;
  }
  const policy = answer.data;
  const problems = policy.last_reload_error ? " (the last reload was refused; the previous set still serves)" : "";
  $("policy-status").textContent = `policy ${String(policy.digest).slice(0, 19)}…, revision ${policy.revision || "-"}${problems}`;
  if (policy.digest !== state.digest) {
    const vocabulary = await api("GET", "/v1/vocabulary");
    if (vocabulary.status !== 200) {
      $("fields").replaceChildren(el("p", { className: "error", role: "alert" }, "no vocabulary: " + errorText(vocabulary.data)));
      return;
    }
    state.digest = policy.digest;
    buildForm(vocabulary.data);
    document.body.dataset.digest = policy.digest;
  }
}

function start() {
  $("ticket-form").addEventListener("submit", decide);
  $("ticket-form").addEventListener("reset", () => {
    setTimeout(() => {
      clearErrors();
      markNeeded(null);
      if ($("f-id")) $("f-id").value = "from-agent-page";
      if ($("f-created_at")) $("f-created_at").value = nowWithOffset();
    }, 0);
  });
  $("events-form").addEventListener("submit", showQueue);
  $("events-ticket").addEventListener("change", drawClock);
  $("events-file").addEventListener("change", async () => {
    const file = $("events-file").files[0];
    if (file) $("events-text").value = await file.text();
  });
  $("token").value = sessionStorage.getItem("triage-token") || "";
  $("token").addEventListener("change", () => { sessionStorage.setItem("triage-token", $("token").value); checkPolicy(); });
  checkPolicy();
  setInterval(() => { if (!document.hidden) checkPolicy(); }, 10000);
}

document.addEventListener("DOMContentLoaded", start);
