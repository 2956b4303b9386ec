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
