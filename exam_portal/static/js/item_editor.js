// Live preview for the item editor: post the form (with its CSRF token) to the
// preview URL after a pause in typing and show the HTML the server renders.
(function () {
  var form = document.getElementById("item-editor");
  var target = document.getElementById("item-preview");
  if (!form || !target) { return; }
  var timer = null;
  var latest = 0;
  function refresh() {
    var ticket = ++latest;
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.ok ? response.text() : Promise.reject(response.status);
    }).then(function (html) {
      if (ticket === latest) { target.innerHTML = html; }
    }).catch(function () { /* the next keystroke tries again */ });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
  refresh();
})();
