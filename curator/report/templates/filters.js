(function () {
  "use strict";
  // Copy buttons beside each reproduce command.
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var code = button.parentElement.querySelector("code");
      var done = function () { button.textContent = "copied"; };
      var select = function () {
        var range = document.createRange();
        range.selectNodeContents(code);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = "selected";
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(code.textContent).then(done, select);
      } else {
        select();
      }
    });
  });

  // Filters by Python and by status: matrices and cells not matching are hidden, squares dimmed.
  var bar = document.getElementById("filters");
  if (!bar) {
    return;
  }
  var python = document.getElementById("filter-python");
  var status = document.getElementById("filter-status");
  var result = document.getElementById("filter-result");
  var noMatch = document.getElementById("no-match");
  bar.hidden = false;

  function apply() {
    var wantedPython = python.value;
    var wantedStatus = status.value;
    var figures = 0;
    var shownFigures = 0;
    var shownCells = 0;
    document.querySelectorAll("[data-python]").forEach(function (element) {
      var statuses = (element.getAttribute("data-statuses") || "").split(" ");
      var visible = (!wantedPython || element.getAttribute("data-python") === wantedPython) &&
        (!wantedStatus || statuses.indexOf(wantedStatus) >= 0);
      element.hidden = !visible;
      if (element.tagName === "FIGURE") {
        figures += 1;
        shownFigures += visible ? 1 : 0;
      } else if (visible) {
        shownCells += 1;
      }
    });
    document.querySelectorAll("td[data-status]").forEach(function (square) {
      square.classList.toggle("dim", wantedStatus !== "" && square.getAttribute("data-status") !== wantedStatus);
    });
    noMatch.hidden = figures === 0 || shownFigures > 0;
    result.textContent = (wantedPython || wantedStatus)
      ? "showing " + shownFigures + " of " + figures + " matrices and " + shownCells + " cells"
      : "";
  }

  python.addEventListener("change", apply);
  status.addEventListener("change", apply);
  apply();
})();
