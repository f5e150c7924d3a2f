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

  // The package search: typing narrows the tiles (and the list of the others); a whole name opens its page.
  var search = document.getElementById("search");
  if (search) {
    var input = document.getElementById("package-search");
    var found = document.getElementById("search-result");
    var none = document.getElementById("no-package");
    var names = Array.prototype.map.call(document.querySelectorAll("#package-list option"), function (o) {
      return o.value;
    });
    search.hidden = false;
    var open = function (name) {
      if (names.indexOf(name) >= 0) {
        window.location.hash = "pkg-" + name;
        return true;
      }
      return false;
    };
    var normal = function (text) {
      return text.trim().toLowerCase().replace(/[._]+/g, "-");
    };
    input.addEventListener("input", function (typed) {
      var wanted = normal(input.value);
      var shown = 0;
      document.querySelectorAll("#tiles .tile, details.untiled a[data-name]").forEach(function (element) {
        var visible = !wanted || element.getAttribute("data-name").indexOf(wanted) >= 0;
        element.hidden = !visible;
        shown += visible ? 1 : 0;
      });
      none.hidden = shown > 0;
      found.textContent = wanted ? shown + " of " + names.length + " packages" : "";
      // a name picked from the list (not typed letter by letter) opens its page at once
      if (!typed.inputType || typed.inputType === "insertReplacementText") {
        open(wanted);
      }
    });
    search.addEventListener("submit", function (submitted) {
      submitted.preventDefault();
      var wanted = normal(input.value);
      var matching = names.filter(function (name) { return name.indexOf(wanted) >= 0; });
      if (!open(wanted) && matching.length === 1) {
        open(matching[0]);
      }
    });
  }

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
      var visible = (!wantedPython || element.getAttribute("data-python").split(" ").indexOf(wantedPython) >= 0) &&
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
  if (python.value || status.value) {  // a reload keeps a choice made before it
    apply();
  }
})();
