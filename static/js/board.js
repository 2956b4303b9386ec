// The retro board's keyboard shortcuts and htmx settings. Every action also works without
// this file, as plain forms.
(function () {
  "use strict";

  function isTyping(element) {
    if (!element) return false;
    const tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  function suggestionButtons() {
    return Array.from(document.querySelectorAll("#suggestions button.suggestion"));
  }

  function entryInput() {
    return document.getElementById("entry-text");
  }

  // Invalid input comes back with status 422 and the form to correct: show it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("keydown", function (event) {
    const target = event.target;

    // "/" starts a new issue from anywhere on the page.
    if (event.key === "/" && !event.altKey && !event.ctrlKey && !event.metaKey && !isTyping(target)) {
      const input = entryInput();
      if (input) {
        event.preventDefault();
        input.focus();
        input.select();
      }
      return;
    }

    // Alt+1..5 links the new issue to that earlier one ("raised again").
    if (event.altKey && !event.ctrlKey && !event.metaKey && /^Digit[1-9]$/.test(event.code)) {
      const button = document.querySelector(
        '#suggestions button[data-suggestion="' + event.code.slice(5) + '"]'
      );
      if (button) {
        event.preventDefault();
        button.click();
      }
      return;
    }

    // Alt+L links the newest row that looks like an earlier issue ("Link it" on the row).
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyL") {
      const offers = document.querySelectorAll('.possible-link button[aria-keyshortcuts="Alt+L"]');
      if (offers.length) {
        event.preventDefault();
        offers[offers.length - 1].click();
      }
      return;
    }

    // Alt+W switches the newest row between "went well" and a problem.
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyW") {
      const toggles = document.querySelectorAll("#occurrence-list button[data-item-type]");
      if (toggles.length) {
        event.preventDefault();
        toggles[toggles.length - 1].click();
      }
      return;
    }

    // In the new-issue field: arrow down into the suggestions, Escape clears the field.
    if (target && target.id === "entry-text") {
      if (event.key === "ArrowDown") {
        const buttons = suggestionButtons();
        if (buttons.length) {
          event.preventDefault();
          buttons[0].focus();
        }
      } else if (event.key === "Escape" && target.value) {
        event.preventDefault();
        target.value = "";
        // A suggestion request still on its way must not fill the list again.
        if (window.htmx) window.htmx.trigger(target, "htmx:abort");
        const region = document.getElementById("suggestions");
        if (region) region.replaceChildren();
      }
      return;
    }

    // In the suggestions: arrows move, Escape goes back to the field; Enter is the button's.
    if (target && target.matches && target.matches("#suggestions button.suggestion")) {
      const buttons = suggestionButtons();
      const index = buttons.indexOf(target);
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const next = index + (event.key === "ArrowDown" ? 1 : -1);
        if (next < 0) {
          entryInput().focus();
        } else if (next < buttons.length) {
          buttons[next].focus();
        }
      } else if (event.key === "Escape") {
        event.preventDefault();
        entryInput().focus();
      }
      return;
    }

    // Editing an issue in place: Escape cancels.
    if (event.key === "Escape" && target && target.dataset && target.dataset.cancel) {
      const cancel = document.getElementById(target.dataset.cancel);
      if (cancel) {
        event.preventDefault();
        cancel.click();
      }
    }
  });
})();
