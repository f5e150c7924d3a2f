(function () {
  "use strict";
  // Write the address this page is served from into the commands, so they copy as they are.
  var here = location.href.replace(/[?#].*$/, "").replace(/[^\/]*$/, "").replace(/\/$/, "");
  document.querySelectorAll("[data-channel]").forEach(function (node) {
    node.textContent = here;
  });
})();
