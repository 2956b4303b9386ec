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

  // A shortcut's key pressed with Alt and no other modifier (Alt+L, Alt+W, Alt+1..5).
  function altOnly(event) {
    return event.altKey && !event.ctrlKey && !event.metaKey;
  }

  // Click the newest (last) element matching `selector`, if there is one, for a shortcut.
  function clickNewest(event, selector) {
    const found = document.querySelectorAll(selector);
    if (found.length) {
      event.preventDefault();
      found[found.length - 1].click();
    }
  }

  // What is being typed in the new-issue field is kept in this tab until it is added, so a
  // session that ends mid-retro (sign in again, come back) or a trip to another page loses
  // nothing. sessionStorage: this tab only, gone when the tab closes.
  const draftKey = "recur:draft:" + window.location.pathname;

  function keepDraft(value) {
    try {
      if (value) {
        window.sessionStorage.setItem(draftKey, value);
      } else {
        window.sessionStorage.removeItem(draftKey);
      }
    } catch (error) {
      // Storage refused (private mode, quota): the field itself still holds the text.
    }
  }

  function restoreDraft() {
    const input = entryInput();
    let draft = null;
    try {
      draft = window.sessionStorage.getItem(draftKey);
    } catch (error) {
      return;
    }
    if (!input || !draft || input.value) return;
    input.value = draft;
    input.focus();
    input.setSelectionRange(draft.length, draft.length);
    const status = document.getElementById("entry-status");
    if (status) {
      status.textContent = "What you were typing is back in the field: press Enter to add it.";
      status.classList.remove("visually-hidden");
      status.classList.add("draft-note");
    }
  }

  document.addEventListener("DOMContentLoaded", restoreDraft);

  document.addEventListener("input", function (event) {
    if (event.target && event.target.id === "entry-text") keepDraft(event.target.value);
  });

  // Signed out while typing: the suggestions stop (their request came back 401), the page
  // stays, and Enter leads to signing in and back here with the text.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    const xhr = event.detail.xhr;
    const config = event.detail.requestConfig;
    if (xhr && xhr.status === 401 && config && config.verb === "get"
        && event.detail.elt && event.detail.elt.id === "entry-text") {
      event.preventDefault();
      const status = document.getElementById("entry-status");
      if (status) {
        status.textContent = "You have been signed out. Press Enter to sign in again: what you typed is kept.";
        status.classList.remove("visually-hidden");
        status.classList.add("draft-note");
      }
    }
  });

  // Added (the form comes back empty, status 200): the draft has done its work. Checked
  // before the swap: once swapped, the old form is out of the page and its events are not seen.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    const elt = event.detail.elt;
    const xhr = event.detail.xhr;
    const config = event.detail.requestConfig;
    if (elt && elt.id === "entry-form" && xhr && config && config.verb === "post"
        && xhr.status >= 200 && xhr.status < 300 && !xhr.getResponseHeader("HX-Redirect")) {
      keepDraft("");
    }
  });

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
    if (altOnly(event) && /^Digit[1-9]$/.test(event.code)) {
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
    if (altOnly(event) && event.code === "KeyL") {
      clickNewest(event, '.possible-link button[aria-keyshortcuts="Alt+L"]');
      return;
    }

    // Alt+W switches the newest row between "went well" and a problem.
    if (altOnly(event) && event.code === "KeyW") {
      clickNewest(event, "#occurrence-list button[data-item-type]");
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
        keepDraft("");
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
