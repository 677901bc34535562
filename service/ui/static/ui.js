// Results as you type: fetch the server-rendered result list (same origin) and swap it in.
// Without JavaScript the search form still works as a plain GET.
(function () {
  "use strict";
  var form = document.querySelector("form[data-live-search]");
  if (!form) { return; }
  var input = form.querySelector("input[name=q]");
  var url = form.getAttribute("data-live-search");
  var timer = null;
  var latest = 0;

  function refresh() {
    var q = input.value.trim();
    var ticket = ++latest;
    fetch(url + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401) { window.location.assign("/ui/login"); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        // Answers can arrive out of order: only the newest query's answer is shown.
        if (html === null || ticket !== latest) { return; }
        var holder = document.getElementById("results");
        var parsed = new DOMParser().parseFromString(html, "text/html").getElementById("results");
        // Swap the contents, not the element: screen readers announce changes inside a live region they know.
        if (holder && parsed) { holder.replaceChildren.apply(holder, Array.from(parsed.childNodes)); }
        if (window.history && window.history.replaceState) {
          window.history.replaceState(null, "", q ? "?q=" + encodeURIComponent(q) : window.location.pathname);
        }
      })
      .catch(function () { /* keep the previous results; the Search button still works */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 200);
  });
})();

// "Copy link" buttons: copy the named field's value to the clipboard (the field stays selectable without JavaScript).
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) { return; }
      field.select();
      var done = button.parentNode.querySelector("[data-copied]");
      var shown = function () { if (done) { done.hidden = false; } };
      if (navigator.clipboard) { navigator.clipboard.writeText(field.value).then(shown, function () {}); }
      else if (document.execCommand && document.execCommand("copy")) { shown(); }
    });
  });
})();
