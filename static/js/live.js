// The live board's grouping by drag and drop: a card dropped onto another joins its group.
// It only chooses the group in the card's own "Group under…" form and sends that form, so
// the keyboard path (the list and its button) and this one do the same thing.
(function () {
  "use strict";

  let dragged = null;

  function cardOf(target) {
    return target instanceof Element ? target.closest(".card-item") : null;
  }

  function canDropOn(card) {
    return dragged !== null && card !== null && card !== dragged;
  }

  document.addEventListener("dragstart", function (event) {
    const card = cardOf(event.target);
    if (!card || card.getAttribute("draggable") !== "true") return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.card);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    document.querySelectorAll(".drop-target").forEach(function (card) {
      card.classList.remove("drop-target");
    });
    dragged = null;
  });

  document.addEventListener("dragover", function (event) {
    const card = cardOf(event.target);
    if (!canDropOn(card)) return;
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = "move";
    card.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    const card = cardOf(event.target);
    if (card && !card.contains(event.relatedTarget)) card.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (event) {
    const card = cardOf(event.target);
    if (!canDropOn(card)) return;
    event.preventDefault();
    const form = dragged.querySelector(".group-form");
    const choice = form && form.querySelector("select[name=under]");
    if (!choice) return;
    choice.value = card.dataset.card;
    if (choice.value !== card.dataset.card) return; // not a group this card may join
    form.requestSubmit();
  });
})();

// The facilitator's countdown: the board gives the seconds left when it is drawn (the
// server's clock, not this device's); this counts them down until the next redraw.
(function () {
  "use strict";

  function show(timer) {
    const left = Math.max(0, Math.ceil((timer._endsAt - Date.now()) / 1000));
    timer.querySelector(".timer-clock").textContent =
      Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    if (left === 0 && !timer.classList.contains("over")) {
      timer.classList.add("over");
      timer.querySelector(".timer-label").textContent = "Time's up";
    }
  }

  setInterval(function () {
    document.querySelectorAll(".timer[data-left]").forEach(function (timer) {
      if (timer._endsAt === undefined) {
        timer._endsAt = Date.now() + 1000 * Number(timer.dataset.left);
      }
      show(timer);
    });
  }, 250);
})();
