// The gateway rules page's expression checker: as the administrator types, it asks the console
// (gateway/rules/check, same origin, the session's cookie) whether the expression compiles with
// the gateway's compiler and shows the answer, with the problem's line and column. Without
// script the form's Check button does the same with a page load.
(function () {
  "use strict";
  var form = document.getElementById("rule-check");
  if (!form || !window.fetch) return;
  var input = document.getElementById("expr");
  var out = document.getElementById("expr-result");
  var url = form.getAttribute("data-check");
  var timer = null, seq = 0;

  function show(cls, text) {
    var p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    out.replaceChildren(p);
    input.setAttribute("aria-invalid", cls === "problems" ? "true" : "false");
  }

  function check() {
    var src = input.value, mine = ++seq;
    if (src.trim() === "") { out.replaceChildren(); input.removeAttribute("aria-invalid"); return; }
    fetch(url + "?expr=" + encodeURIComponent(src), { credentials: "same-origin", redirect: "error", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("status " + r.status);
        return r.json();
      })
      .then(function (c) {
        if (mine !== seq) return; // a newer check is under way
        if (c.error) show("problems", c.error);
        else if (c.ok) show("notice", "The expression compiles.");
        else if (c.problem) show("problems", "Line " + c.problem.line + ", column " + c.problem.column + ": " + c.problem.message);
      })
      .catch(function () {
        if (mine === seq) show("problems", "The expression could not be checked (signed out?). Use the Check button.");
      });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
})();
