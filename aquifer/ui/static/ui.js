// aquifer UI: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // "/" focuses the search box (unless typing in a field already)
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      var box = document.getElementById("q") || document.getElementById("top-q");
      if (box) { event.preventDefault(); box.focus(); box.select(); }
    }
  });
  // the lineage controls redraw as soon as one changes (the Draw button stays for keyboard users)
  var controls = document.getElementById("lineage-controls");
  if (controls) {
    controls.addEventListener("change", function (event) {
      if (event.target && (event.target.id === "columns" || event.target.id === "direction")) { controls.submit(); }
    });
  }
})();
