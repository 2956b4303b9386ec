// Recur's small progressive enhancements. Everything works without this file.
(function () {
  "use strict";
  // Elements with data-copy-target copy the text of the element they name.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy-target]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copyTarget);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.value || source.textContent).then(function () {
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  // Keys for a page act only when one is not typing in a field.
  function isTyping(target) {
    return Boolean(target.closest && target.closest("input, textarea, select, [contenteditable]"));
  }

  // "/" focuses the page's search field (data-slash-focus) unless one is typing already.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.altKey || event.ctrlKey || event.metaKey) return;
    if (isTyping(event.target)) return;
    const field = document.querySelector("[data-slash-focus]");
    if (!field) return;
    event.preventDefault();
    field.focus();
    field.select();
  });

  // In a list marked data-row-nav, "j" and "k" move to the next and previous row's link
  // (Enter opens it); Escape in a search field leaves it, so that the keys reach the list.
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.key === "Escape" && target.matches && target.matches("[data-slash-focus]")) {
      event.preventDefault(); // a search field would also clear itself
      target.blur();
      return;
    }
    if ((event.key !== "j" && event.key !== "k") || event.altKey || event.ctrlKey || event.metaKey) return;
    if (isTyping(target)) return;
    const list = document.querySelector("[data-row-nav]");
    if (!list) return;
    const links = Array.from(list.querySelectorAll("tr > td:first-child > a"));
    if (!links.length) return;
    event.preventDefault();
    const at = links.indexOf(document.activeElement);
    const next = at < 0 ? 0 : Math.min(links.length - 1, Math.max(0, at + (event.key === "j" ? 1 : -1)));
    links[next].focus();
  });

  // A filter form outside the region htmx swaps (data-sync-query) follows the address when
  // Back or Forward brings an earlier list back: the restored page keeps the form as it was
  // first drawn, not as it was when that list was shown.
  document.addEventListener("htmx:historyRestore", function () {
    const params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form[data-sync-query]").forEach(function (form) {
      Array.from(form.elements).forEach(function (field) {
        if (!field.name || field.type === "submit") return;
        const value = params.get(field.name) || "";
        if (field.tagName === "SELECT") {
          const known = Array.from(field.options).some(function (o) { return o.value === value; });
          field.value = known ? value : field.options[0].value;
        } else {
          field.value = value;
        }
      });
    });
  });
})();
