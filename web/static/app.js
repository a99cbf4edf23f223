// Keyboard shortcuts for the review pages (listed on each page). No inline script: the
// Content-Security-Policy allows only this file.
"use strict";

function typing(event) {
  const tag = event.target.tagName;
  const box = tag === "INPUT" && event.target.type === "checkbox";  // keys still move the list
  return (tag === "INPUT" && !box) || tag === "TEXTAREA" || tag === "SELECT" || event.target.isContentEditable;
}

function queueKeys(list) {
  const rows = Array.from(list.querySelectorAll(".row"));
  let current = -1;
  function select(index) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((row, i) => row.classList.toggle("selected", i === current));
    rows[current].querySelector("a.open").focus();
  }
  return function (event) {
    if (event.key === "j") { select(current + 1); return true; }
    if (event.key === "k") { select(current - 1); return true; }
    if (event.key === "u") return undo();
    if (event.key === "x" && current >= 0) {
      const pick = rows[current].querySelector("input.pick");
      pick.checked = !pick.checked;
      pick.dispatchEvent(new Event("change", { bubbles: true }));
      return true;
    }
    if ((event.key === "o" || event.key === "Enter") && current >= 0) {
      rows[current].querySelector("a.open").click();
      return true;
    }
    return false;
  };
}

// A form that is on the page (the page offers only what the candidate's state allows).
function submit(id) {
  const form = document.getElementById(id);
  if (form) form.requestSubmit();
  return Boolean(form);
}

// u: the decision just made (the notice's Undo), else this candidate's last decision.
function undo() {
  return submit("undo-last") || submit("undo-form");
}

function candidateKeys() {
  return function (event) {
    switch (event.key) {
      case "a": return submit("approve-form");
      case "d": return submit("defer-form");
      case "u": return undo();
      case "r": {
        const reason = document.getElementById("reason");
        if (reason) reason.focus();
        return Boolean(reason);
      }
      case "n": document.getElementById("note").focus(); return true;
      case "p": return submit("publish-form");
      case "e": {
        const details = document.getElementById("edit-details");
        if (!details) return false;
        details.open = true;
        document.getElementById("edit-finding").focus();
        return true;
      }
      case "b": {
        const back = document.getElementById("send-back-note");
        if (back) back.focus();
        return Boolean(back);
      }
      case "j": {
        const next = document.getElementById("next");
        if (next) next.click();
        return true;
      }
      case "k": document.getElementById("back").click(); return true;
      default: return false;
    }
  };
}

// How many rows are selected for the bulk decision, beside its button.
function countSelected(list) {
  const shown = document.getElementById("selected-count");
  if (!shown) return;
  const update = () => {
    shown.textContent = String(list.querySelectorAll("input.pick:checked").length);
  };
  list.addEventListener("change", update);
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  const list = document.getElementById("queue");
  if (list) countSelected(list);
  const onPage = list ? queueKeys(list) : document.getElementById("work-title") ? candidateKeys() : null;
  const note = document.getElementById("note");
  if (note) {
    note.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        document.getElementById("note-form").requestSubmit();
      }
    });
  }
  // Ctrl+Enter in a draft's text saves the edit, or sends the draft back
  for (const [field, form] of [["#edit-form textarea", "edit-form"],
                               ["#send-back-note", "send-back-form"]]) {
    document.querySelectorAll(field).forEach((area) => {
      area.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          document.getElementById(form).requestSubmit();
        }
      });
    });
  }
  const reason = document.getElementById("reason");
  if (reason) {
    reason.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && reason.value) {
        event.preventDefault();
        document.getElementById("reject-form").requestSubmit();
      }
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    if (event.key === "/") {
      event.preventDefault();
      const search = document.getElementById("q");
      if (search) search.focus();
      else window.location.href = "/#q";
      return;
    }
    if (onPage && onPage(event)) event.preventDefault();
  });
});
