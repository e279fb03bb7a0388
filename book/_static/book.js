// The side-by-side view: every framework tab set shows two chosen frameworks next to each other.
// The choice is kept in local storage, like the tabs' own (sphinx-design's design-tabs.js).
// Names in shared prose (.fw-text) follow the chosen tab, or the left column side by side.
(function () {
  const KEY = "five-resnets-side-by-side";
  function read() {
    try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  let current = {on: false};
  function chosenTab() {
    const label = document.querySelector(".framework-tabs > input:checked + label");
    return label ? label.getAttribute("data-sync-id") : "torch";
  }
  function showNames() {
    document.body.setAttribute("data-framework", current.on ? current.left : chosenTab());
  }
  function apply(state) {
    current = state;
    showNames();
    document.body.classList.toggle("side-by-side", !!state.on);
    document.querySelectorAll(".framework-tabs").forEach(function (set) {
      set.querySelectorAll(":scope > label.sd-tab-label").forEach(function (label) {
        const content = label.nextElementSibling;
        const id = label.getAttribute("data-sync-id");
        content.setAttribute("data-framework", label.textContent.trim());
        content.classList.toggle("side-left", !!state.on && id === state.left);
        content.classList.toggle("side-right", !!state.on && id === state.right && id !== state.left);
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    const box = document.getElementById("side-by-side");
    const left = document.getElementById("side-left"), right = document.getElementById("side-right");
    const state = Object.assign({on: false, left: "torch", right: "mxnet"}, read());
    if (box) {
      box.checked = !!state.on; left.value = state.left; right.value = state.right;
      const changed = function () {
        const next = {on: box.checked, left: left.value, right: right.value};
        try { localStorage.setItem(KEY, JSON.stringify(next)); } catch (e) { /* no storage: not kept */ }
        apply(next);
      };
      [box, left, right].forEach(function (el) { el.addEventListener("change", changed); });
    }
    apply(box ? state : {on: false});
    document.addEventListener("change", function (event) {
      if (event.target.matches(".framework-tabs > input")) showNames();
    });
  });
  window.addEventListener("load", showNames);  // after design-tabs.js has restored the stored tab
})();
