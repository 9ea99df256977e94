// The task page: list, add, complete and delete tasks, and chat with the assistant.
//
// Every value from the server is shown with textContent, never innerHTML, so a task
// titled "<img onerror=...>" stays text. Errors go to one banner; the next action that
// succeeds clears it, so a backend outage heals without a reload.
"use strict";

const UNREACHABLE = "Can't reach the server; check your connection and try again.";
const RETRY_MS = 5000;

const $ = (id) => document.getElementById(id);
const status = $("status");
const list = $("tasks");
const empty = $("empty");
const chatLog = $("chat-log");
let conversationId = null;
let retryTimer = null;

class ApiError extends Error {}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch("/app/api" + path, init);
  } catch {
    throw new ApiError(UNREACHABLE);
  }
  if (response.status === 401) {
    window.location.assign("/signin");
    throw new ApiError("Your session has ended; please sign in again.");
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : null;
    throw new ApiError(detail || "Something went wrong; try again in a moment.");
  }
  return data;
}

function showError(message) {
  status.textContent = message;
  status.hidden = false;
}

function clearError() {
  status.hidden = true;
  status.textContent = "";
}

function renderTask(task) {
  const item = document.createElement("li");
  item.dataset.id = String(task.id);
  item.classList.toggle("done", Boolean(task.completed));

  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = Boolean(task.completed);
  box.id = "task-" + task.id;
  box.addEventListener("change", () =>
    run(() => api("PATCH", "/tasks/" + encodeURIComponent(task.id), { completed: box.checked }))
  );

  const title = document.createElement("label");
  title.className = "title";
  title.htmlFor = box.id;
  title.textContent = task.title;

  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "quiet";
  remove.textContent = "Delete";
  remove.setAttribute("aria-label", "Delete " + task.title);
  remove.addEventListener("click", () =>
    run(() => api("DELETE", "/tasks/" + encodeURIComponent(task.id)))
  );

  item.append(box, title, remove);
  return item;
}

async function loadTasks() {
  const tasks = (await api("GET", "/tasks")).data;
  list.replaceChildren(...tasks.map(renderTask));
  empty.hidden = tasks.length > 0;
  list.setAttribute("aria-busy", "false");
}

// Runs one user action, then reloads the list; on failure shows the error and keeps
// retrying the list quietly, so the page recovers when the backend is back.
async function run(action) {
  try {
    await action();
    await loadTasks();
    clearError();
    window.clearTimeout(retryTimer);
    return true;
  } catch (error) {
    showError(error instanceof ApiError ? error.message : UNREACHABLE);
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(refresh, RETRY_MS);
    return false;
  }
}

const refresh = () => run(async () => {});

function say(kind, text) {
  const entry = document.createElement("li");
  entry.className = kind;
  entry.textContent = text;
  chatLog.append(entry);
  chatLog.scrollTop = chatLog.scrollHeight;
  return entry;
}

function busy(form, on) {
  for (const control of form.elements) control.disabled = on;
}

// On submit of `formId`, calls `send(text, input)` with the trimmed text of `inputId`, unless it
// is empty; the form's controls stay disabled until it returns, then the input gets the focus.
function onSubmitText(formId, inputId, send) {
  $(formId).addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const input = $(inputId);
    const text = input.value.trim();
    if (!text) return;
    busy(form, true);
    try {
      await send(text, input);
    } finally {
      busy(form, false);
      input.focus();
    }
  });
}

onSubmitText("add-task", "new-title", async (title, input) => {
  if (await run(() => api("POST", "/tasks", { title }))) input.value = "";
});

onSubmitText("chat", "chat-message", async (message, input) => {
  say("you", message);
  const pending = say("assistant", "…");
  try {
    const answer = await api("POST", "/chat", { message, conversation_id: conversationId });
    conversationId = answer.conversation_id;
    pending.textContent = answer.reply;
    input.value = "";
    // The assistant may have changed tasks.
    await refresh();
  } catch (error) {
    pending.className = "error";
    pending.textContent = error instanceof ApiError ? error.message : UNREACHABLE;
  }
});

refresh();
