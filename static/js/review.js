// Keyboard review of possible recurrences: j/k move, y same issue, n different, Shift+Y/N the
// whole group of the focused pair, x select, u undo the last decision.
(function () {
  "use strict";
  function rows() { return Array.from(document.querySelectorAll(".review-row")); }
  function current() { return document.activeElement && document.activeElement.closest(".review-row"); }
  function move(step) {
    const all = rows();
    if (!all.length) return;
    const index = all.indexOf(current());
    const next = all[Math.min(all.length - 1, Math.max(0, index + step))] || all[0];
    next.focus();
  }
  // The position of the row being decided: after the queue is swapped, focus stays at that
  // position, on the row that followed it, never back on the first row.
  let decidedAt = null;
  let undone = null;
  function decide(row, decision) {
    const button = row.querySelector('[data-decide="' + decision + '"]');
    if (button) button.click();
  }
  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("#review-queue button[type=submit]");
    if (!button) return;
    if (button.hasAttribute("data-undo")) {  // focus returns to the pair taken back
      const first = button.form.querySelector("input[name=review]");
      undone = first ? first.value : null;
      decidedAt = null;
      return;
    }
    const all = rows();
    const row = button.closest(".review-row");
    const group = button.dataset.decideGroup && button.closest(".review-group");
    const chosen = row ? [row] : group ? Array.from(group.querySelectorAll(".review-row")) : all.filter(function (r) {
      const box = r.querySelector("input[type=checkbox]");
      return box && box.checked;
    });
    decidedAt = chosen.length ? all.indexOf(chosen[0]) : null;
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.target.matches("input[type=text], textarea, select")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const row = current();
    if (row && (event.key === "Y" || event.key === "N")) {
      const group = row.closest(".review-group");
      const button = group && group.querySelector('[data-decide-group="' + (event.key === "Y" ? "confirm" : "reject") + '"]');
      if (button) { button.click(); event.preventDefault(); }
      return;
    }
    if (event.key === "u") {
      const undo = document.querySelector("#review-queue [data-undo]");
      if (undo) { undo.click(); event.preventDefault(); }
      return;
    }
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if (row && event.key === "y") { decide(row, "confirm"); event.preventDefault(); }
    else if (row && event.key === "n") { decide(row, "reject"); event.preventDefault(); }
    else if (row && event.key === "x") {
      const box = row.querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
      event.preventDefault();
    }
  });
  // After htmx swaps the queue, focus the row now at the decided position (the next one).
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "review-queue") return;
    const all = rows();
    const back = undone && document.querySelector('.review-row[data-review="' + undone + '"]');
    const at = decidedAt === null ? 0 : decidedAt;
    decidedAt = null;
    undone = null;
    if (back) back.focus();
    else if (all.length) all[Math.min(at, all.length - 1)].focus();
  });
})();
