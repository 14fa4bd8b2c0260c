// The delivery page: every answer is saved at once; answers the server has not
// acknowledged stay in localStorage and are sent again until it does.
//
// Protocol (see exam_portal/services/practice.py): PUT .../responses/<position> with
// {seq, device, selected | text, flagged}. The server keeps the highest seq per item;
// 409 "stale" means a newer answer is stored already, "superseded" that another
// device opened the attempt, "closed" that it was handed in or time ran out.
(function () {
  "use strict";
  var root = document.getElementById("attempt");
  var dataNode = document.getElementById("attempt-data");
  if (!root || !dataNode) return;
  var data = JSON.parse(dataNode.textContent);
  var paper = document.getElementById("paper");

  // The questions come separately: a drawn paper never changes, so the browser keeps
  // it and a reload fetches only this small page.
  function loadPaper() {
    fetch(paper.dataset.url, {credentials: "same-origin"}).then(function (response) {
      if (!response.ok) throw new Error("paper " + response.status);
      return response.text();
    }).then(function (html) {
      paper.innerHTML = html;  // server-rendered and escaped, see _question.html
      run();
    }, function () { window.setTimeout(loadPaper, 3000); });
  }
  loadPaper();

  function run() {
    var msg = data.messages;
    var csrf = document.querySelector("#submit-form input[name=csrf_token]").value;
    var storeKey = "attempt:" + data.id + ":";
    var questions = Array.prototype.slice.call(root.querySelectorAll(".question"));
    var byPosition = {};
    questions.forEach(function (q) { byPosition[q.dataset.position] = q; });

    var device = null;
    // Which page load queued an answer: a page that loses the attempt drops its own
    // refused answers, so another window never sends them later.
    var pageId = Math.random().toString(36).slice(2);
    var superseded = false;
    var closed = false;
    var retryTimer = null;
    var deadline = null;  // Date.now()-based, from the server's remaining seconds
    var verdicts = {};  // practice: "right", "wrong" or "partly" per checked position
    var responses = data.state.responses || {};
    var queue = read("queue", {});
    var seq = Math.max(Number(read("seq", 0)) || 0, data.state.max_seq || 0);
    var current = String(read("position", questions.length ? questions[0].dataset.position : 1));
    if (!byPosition[current]) current = questions.length ? questions[0].dataset.position : "1";

    function read(name, fallback) {
      try {
        var value = window.localStorage.getItem(storeKey + name);
        return value === null ? fallback : JSON.parse(value);
      } catch (e) { return fallback; }
    }
    function write(name, value) {
      try { window.localStorage.setItem(storeKey + name, JSON.stringify(value)); } catch (e) { /* private mode: memory only */ }
    }
    function url(template, position) { return template.replace(/\/0(\/|$)/, "/" + position + "$1"); }
    function format(text, values) {
      return text.replace(/\{(\w+)\}/g, function (_, name) { return values[name]; });
    }

    // Rendering -------------------------------------------------------------------
    function pendingCount() { return Object.keys(queue).length; }
    function setStatus(kind) {
      var node = document.getElementById("save-status");
      var n = pendingCount();
      node.className = "save-status small status-" + kind;
      if (kind === "saved") node.textContent = "✓ " + msg.saved;
      else if (kind === "saving") node.textContent = msg.saving;
      else if (kind === "offline") node.textContent = format(msg.offline, {n: n});
      else if (kind === "retrying") node.textContent = format(msg.retrying, {n: n});
      else node.textContent = kind;
    }
    function answerOf(position) {
      var q = byPosition[position];
      if (q.dataset.type === "SINGLE" || q.dataset.type === "MULTI") {
        return {selected: Array.prototype.map.call(q.querySelectorAll(".options input:checked"),
                                                   function (i) { return i.value; })};
      }
      return {text: q.querySelector(".answer-text").value};
    }
    function isAnswered(position) {
      var answer = answerOf(position);
      return answer.selected ? answer.selected.length > 0 : answer.text.trim().length > 0;
    }
    function isFlagged(position) {
      return byPosition[position].querySelector("[data-action=flag]").getAttribute("aria-pressed") === "true";
    }
    // The answer card: every state has a symbol (CSS) and words (the button's name),
    // never colour alone; one tab stop, the arrow keys move within it.
    function paintNavigator() {
      root.querySelectorAll(".nav-cell[data-goto]").forEach(function (cell) {
        var p = cell.dataset.goto;
        var answered = isAnswered(p), flagged = isFlagged(p), verdict = verdicts[p];
        var unsent = Object.prototype.hasOwnProperty.call(queue, p);
        cell.classList.toggle("answered", answered);
        cell.classList.toggle("flagged", flagged);
        cell.classList.toggle("current", p === current);
        cell.classList.toggle("unsent", unsent);
        ["right", "wrong", "partly"].forEach(function (name) { cell.classList.toggle(name, verdict === name); });
        var states = [answered ? msg.stateAnswered : msg.stateUnanswered];
        if (verdict) states.push(msg["state" + verdict.charAt(0).toUpperCase() + verdict.slice(1)]);
        if (flagged) states.push(msg.stateFlagged);
        if (unsent) states.push(msg.stateUnsent);
        cell.setAttribute("aria-label", format(msg.navLabel, {
          question: format(msg.question, {n: p}), states: states.join(msg.separator)}));
        cell.tabIndex = p === current ? 0 : -1;
        if (p === current) cell.setAttribute("aria-current", "true"); else cell.removeAttribute("aria-current");
      });
    }
    // focus: move the keyboard focus to the question's title, so that a screen reader
    // reads the question shown and the next Tab reaches its options.
    function show(position, focus) {
      position = String(position);
      if (!byPosition[position]) return;
      questions.forEach(function (q) { q.hidden = q.dataset.position !== position; });
      current = position;
      write("position", current);
      paintNavigator();
      if (focus) byPosition[position].querySelector(".question-title").focus();
    }
    function applyAnswer(position, entry) {
      var q = byPosition[position];
      if (!q) return;
      if (entry.selected) {
        q.querySelectorAll(".options input").forEach(function (input) {
          input.checked = entry.selected.indexOf(input.value) !== -1;
        });
      }
      if (typeof entry.text === "string") q.querySelector(".answer-text").value = entry.text;
      q.querySelector("[data-action=flag]").setAttribute("aria-pressed", entry.flagged ? "true" : "false");
      if (entry.locked) lock(q, entry.feedback, entry.self_score);
    }
    function lock(q, feedback, selfScore) {
      q.querySelectorAll(".options input, .answer-text").forEach(function (input) {
        input.disabled = true;
      });
      var check = q.querySelector("[data-action=check]");
      if (check) check.hidden = true;
      if (feedback) renderFeedback(q, feedback, selfScore);
    }
    function el(tag, className, text) {
      var node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    }
    function keyPointList(points) {
      var list = el("ul", "key-points");
      points.forEach(function (kp) { list.appendChild(el("li", "", kp.text + "（" + kp.points + " " + msg.points + "）")); });
      return list;
    }
    function renderFeedback(q, fb, selfScore) {
      var box = q.querySelector(".feedback");
      box.textContent = "";
      box.hidden = false;
      if (fb.keys) {
        var verdict = fb.correct ? msg.correct : (Number(fb.score) > 0 ? msg.partly : msg.wrong);
        verdicts[q.dataset.position] = fb.correct ? "right" : (Number(fb.score) > 0 ? "partly" : "wrong");
        box.className = "feedback alert " + (fb.correct ? "alert-success" : "alert-danger");
        box.appendChild(el("p", "fw-bold mb-1", verdict + (fb.score !== undefined ? " · " + msg.score + fb.score : "")));
        box.appendChild(el("p", "mb-1", msg.key + fb.keys.join("")));
        q.querySelectorAll(".option").forEach(function (label) {
          var input = label.querySelector("input");
          label.classList.toggle("is-key", fb.keys.indexOf(input.value) !== -1);
        });
      } else {
        box.className = "feedback alert alert-info";
        box.appendChild(el("p", "fw-bold mb-1", msg.keyPoints));
        if (fb.sub_questions) {
          fb.sub_questions.forEach(function (sub) {
            box.appendChild(el("p", "mb-1", sub.prompt + "（" + sub.points + " " + msg.points + "）"));
            box.appendChild(keyPointList(sub.key_points));
          });
        } else if (fb.key_points) {
          box.appendChild(keyPointList(fb.key_points));
        }
        selfScoreForm(q, box, selfScore);
      }
      box.appendChild(el("p", "mb-0 pre-wrap", msg.explanation + fb.explanation));
      if (fb.correct && fb.review_rating !== undefined) recallButtons(q, box, fb.review_rating);
    }
    // A right answer to an item under review: the candidate may say how it felt, and
    // the server schedules the card again (Good unless they do).
    function recallButtons(q, box, rating) {
      var row = el("div", "d-flex flex-wrap gap-2 align-items-center mt-2 recall");
      row.appendChild(el("span", "small", msg.recallQuestion));
      var note = el("span", "small text-success");
      note.setAttribute("role", "status");
      [["easy", msg.recallEasy, 4], ["hard", msg.recallHard, 2]].forEach(function (choice) {
        var button = el("button", "btn btn-sm btn-outline-dark", choice[1]);
        button.type = "button";
        button.setAttribute("aria-pressed", rating === choice[2] ? "true" : "false");
        button.addEventListener("click", function () {
          post(url(data.urls.recall, q.dataset.position), {feeling: choice[0]}).then(function (r) {
            if (!r.ok) { note.textContent = r.body.message || ""; return; }
            row.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
            button.setAttribute("aria-pressed", "true");
            note.textContent = msg.recallSaved;
          });
        });
        row.appendChild(button);
      });
      row.appendChild(note);
      box.appendChild(row);
    }
    function selfScoreForm(q, box, selfScore) {
      var row = el("div", "d-flex flex-wrap gap-2 align-items-center my-2");
      var label = el("label", "form-label mb-0", msg.selfScore);
      var input = el("input", "form-control form-control-sm self-score");
      input.type = "number"; input.min = "0"; input.step = "0.5"; input.id = "self-" + q.dataset.position;
      label.htmlFor = input.id;
      if (selfScore !== undefined) input.value = selfScore;
      var button = el("button", "btn btn-sm btn-outline-primary", msg.saveSelfScore);
      button.type = "button";
      var note = el("span", "small text-success");
      button.addEventListener("click", function () {
        post(url(data.urls.selfScore, q.dataset.position), {points: input.value}).then(function (r) {
          note.textContent = r.ok ? msg.selfScoreSaved : (r.body.message || "");
        });
      });
      row.appendChild(label); row.appendChild(input); row.appendChild(button); row.appendChild(note);
      box.appendChild(row);
    }

    // Talking to the server ------------------------------------------------------------
    function request(method, target, body) {
      return fetch(target, {
        method: method, credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
        body: body === undefined ? undefined : JSON.stringify(body)
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) {
          return {ok: response.ok, status: response.status, body: json};
        });
      });
    }
    function post(target, body) { return request("POST", target, body); }

    function record(position) {
      if (superseded || closed || ending) return;
      seq += 1;
      write("seq", seq);
      var payload = answerOf(position);
      payload.seq = seq;
      payload.flagged = isFlagged(position);
      payload.page = pageId;
      queue[position] = payload;
      write("queue", queue);
      paintNavigator();
      flush();
    }
    function scheduleRetry(kind) {
      setStatus(kind);
      if (retryTimer) return;
      retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, 3000);
    }
    var inFlight = null;
    function flush() {
      if (inFlight) return inFlight;
      if (!device || superseded || closed) return Promise.resolve();
      var positions = Object.keys(queue);
      if (!positions.length) { setStatus("saved"); return Promise.resolve(); }
      setStatus("saving");
      var failed = false;
      var chain = Promise.resolve();
      positions.forEach(function (position) {
        chain = chain.then(function () {
          var payload = queue[position];
          if (failed || !payload) return;
          var body = {seq: payload.seq, flagged: payload.flagged, device: device};
          if (payload.selected) body.selected = payload.selected; else body.text = payload.text;
          return request("PUT", url(data.urls.save, position), body).then(function (r) {
            var code = r.body.code;
            // Only a JSON "saved" counts: a login page reached by a redirect is no receipt.
            if ((r.ok && r.body.saved === true) || (r.status === 409 && (code === "stale" || code === "locked")) ||
                r.status === 400 || r.status === 404) {
              if (r.status === 400) window.alert(msg.invalid + (r.body.message || ""));
              if (queue[position] && queue[position].seq === payload.seq) delete queue[position];
              write("queue", queue);
            } else if ((r.status === 409 && code === "superseded") || r.status === 401) {
              failed = true; supersede(r.body.message);
            }
            else if (r.status === 409 && code === "closed") { failed = true; close(); }
            else { failed = true; scheduleRetry("retrying"); }
          }, function () { failed = true; scheduleRetry("offline"); });
        });
      });
      inFlight = chain.then(function () {
        inFlight = null;
        paintNavigator();
        if (superseded || closed) return;
        if (!pendingCount()) setStatus("saved");
        else if (!failed) return flush();  // answers changed while these were on their way
      });
      return inFlight;
    }
    // Send everything still queued, a few times if need be (the deadline's grace).
    function drain(tries) {
      return flush().then(function () {
        if (!pendingCount() || tries <= 1 || superseded || closed) return;
        return new Promise(function (resolve) { window.setTimeout(resolve, 2000); })
          .then(function () { return drain(tries - 1); });
      });
    }
    function supersede(message) {
      superseded = true;
      queue = read("queue", {});
      Object.keys(queue).forEach(function (position) {
        if (queue[position].page === pageId) delete queue[position];
      });
      write("queue", queue);
      var banner = document.getElementById("device-banner");
      if (message) banner.querySelector("span").textContent = message;
      banner.hidden = false;
      root.querySelectorAll(".question input, .question textarea, .question button, #submit-button").forEach(function (node) {
        node.disabled = true;
      });
      setStatus("—");
    }
    function close() {
      closed = true;
      write("queue", {});
      window.location.assign(data.urls.result);
    }
    function claim() {
      return post(data.urls.open).then(function (r) {
        if (r.status === 409 && r.body.code === "closed") { close(); return; }
        if (r.status === 409 || r.status === 401) { supersede(r.body.message); return; }
        if (!r.ok || !r.body.device) { scheduleClaim(); return; }
        device = r.body.device;
        seq = Math.max(seq, r.body.max_seq || 0);
        write("seq", seq);
        var server = r.body.responses || {};
        Object.keys(server).forEach(function (position) {
          var local = queue[position];
          if (local && local.seq > server[position].seq && !server[position].locked) return;
          if (local) { delete queue[position]; }
          applyAnswer(position, server[position]);
        });
        Object.keys(queue).forEach(function (position) { applyAnswer(position, queue[position]); });
        write("queue", queue);
        setClock(r.body.remaining);
        paintNavigator();
        flush();
      }, scheduleClaim);
    }
    function scheduleClaim() {
      setStatus("offline");
      window.setTimeout(claim, 3000);
    }

    // The clock: the server's remaining time, counted down here and checked every minute.
    function setClock(remaining) {
      if (remaining === null || remaining === undefined) return;
      deadline = Date.now() + remaining * 1000;
      tick();
    }
    function tick() {
      var timer = document.getElementById("timer");
      if (!timer || deadline === null) return;
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      timer.textContent = (h ? h + ":" : "") + String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
      timer.classList.toggle("text-bg-danger", left <= 300);
      warnTime(left);
      if (left === 0 && !closed) timeUp();
    }
    // Said once per threshold (and at once on a page opened later): the live region
    // is read out by screen readers, and shown.
    var WARN_MINUTES = [15, 5, 1];
    var warned = null;  // the smallest threshold announced
    function warnTime(left) {
      if (warned !== null && left > warned * 60 + 60) warned = null;  // time was extended
      var due = WARN_MINUTES.filter(function (m) {
        return left > 0 && left <= m * 60 && (warned === null || m < warned);
      });
      if (!due.length) return;
      warned = due[due.length - 1];
      var minutes = Math.max(1, Math.ceil(left / 60));
      document.getElementById("time-warning").textContent =
        format(minutes <= 5 ? msg.timeLeftHandIn : msg.timeLeft, {n: minutes});
    }
    var ending = false;
    function timeUp() {
      if (ending) return;
      ending = true;
      root.querySelectorAll(".question input, .question textarea").forEach(function (node) { node.disabled = true; });
      setStatus(msg.timeUp);
      var go = function () { closed = true; window.location.assign(data.urls.result); };
      drain(10).then(function () { return post(data.urls.submit, {}); }).then(go, go);
    }
    function syncClock() {
      request("GET", data.urls.clock).then(function (r) {
        if (r.ok && r.body.status === "SUBMITTED") close();
        else if (r.ok) setClock(r.body.remaining);
      }, function () {});
    }

    // Events -------------------------------------------------------------------------
    root.addEventListener("change", function (event) {
      var q = event.target.closest(".question");
      if (q && event.target.matches(".options input")) record(q.dataset.position);
    });
    var typing = {};
    root.addEventListener("input", function (event) {
      var q = event.target.closest(".question");
      if (!q || !event.target.matches(".answer-text")) return;
      var position = q.dataset.position;
      window.clearTimeout(typing[position]);
      typing[position] = window.setTimeout(function () { typing[position] = null; record(position); }, 800);
    });
    root.addEventListener("click", function (event) {
      var button = event.target.closest("[data-action], [data-goto]");
      if (!button) return;
      var q = button.closest(".question");
      if (button.dataset.goto) { show(button.dataset.goto, true); return; }
      var action = button.dataset.action;
      if (action === "prev" || action === "next") {
        var index = questions.indexOf(byPosition[current]) + (action === "next" ? 1 : -1);
        if (questions[index]) show(questions[index].dataset.position, true);
      } else if (action === "flag") {
        button.setAttribute("aria-pressed", button.getAttribute("aria-pressed") === "true" ? "false" : "true");
        record(q.dataset.position);
      } else if (action === "bookmark") {
        var wanted = button.getAttribute("aria-pressed") !== "true";
        post(url(data.urls.bookmark, q.dataset.position), {bookmarked: wanted}).then(function (r) {
          if (r.ok) button.setAttribute("aria-pressed", r.body.bookmarked ? "true" : "false");
        });
      } else if (action === "check") {
        checkAnswer(q);
      } else if (action === "toggle-navigator") {
        var open = document.getElementById("navigator").classList.toggle("open");
        button.setAttribute("aria-expanded", open ? "true" : "false");
        if (open) root.querySelector(".nav-cell[data-goto][tabindex='0']").focus();
      } else if (action === "reload") {
        window.location.reload();
      }
    });
    function checkAnswer(q) {
      var position = q.dataset.position;
      if (typing[position]) {
        window.clearTimeout(typing[position]);
        typing[position] = null;
        record(position);
      }
      drain(2).then(function () {
        if (queue[position] || !isAnswered(position)) { window.alert(msg.answerFirst); return; }
        post(url(data.urls.check, position)).then(function (r) {
          if (r.ok) lock(q, r.body);
          else window.alert(r.body.message || msg.answerFirst);
          paintNavigator();
        });
      });
    }
    // Within the answer card the arrow keys move between questions' buttons (one tab
    // stop for the whole card); Enter or Space opens the question.
    var grid = root.querySelector(".nav-grid");
    grid.addEventListener("keydown", function (event) {
      var cells = Array.prototype.slice.call(grid.querySelectorAll(".nav-cell[data-goto]"));
      var index = cells.indexOf(event.target);
      if (index === -1) return;
      var columns = cells.filter(function (cell) { return cell.offsetTop === cells[0].offsetTop; }).length || 1;
      var next = {ArrowRight: index + 1, ArrowLeft: index - 1, ArrowDown: index + columns,
                  ArrowUp: index - columns, Home: 0, End: cells.length - 1}[event.key];
      if (next === undefined) return;
      event.preventDefault();
      event.stopPropagation();
      next = Math.max(0, Math.min(cells.length - 1, next));
      cells.forEach(function (cell, i) { cell.tabIndex = i === next ? 0 : -1; });
      cells[next].focus();
    });
    // Single-key shortcuts (WCAG 2.1.4): they can be switched off, and they never act
    // while the focus is in a text field; arrows in a group of options move between
    // the options, as they always do.
    var shortcuts = document.getElementById("shortcuts");
    try { shortcuts.checked = window.localStorage.getItem("portal:shortcuts") !== "off"; } catch (e) { /* keep on */ }
    shortcuts.addEventListener("change", function () {
      try { window.localStorage.setItem("portal:shortcuts", shortcuts.checked ? "on" : "off"); } catch (e) { /* memory only */ }
    });
    document.addEventListener("keydown", function (event) {
      if (!shortcuts.checked || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.target.matches("textarea, input[type=number], input[type=text], select, #shortcuts")) return;
      if (document.querySelector(".modal.show")) return;
      var q = byPosition[current];
      if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        if (event.target.matches(".options input")) return;
        var index = questions.indexOf(q) + (event.key === "ArrowRight" ? 1 : -1);
        if (questions[index]) { show(questions[index].dataset.position, q.contains(event.target)); event.preventDefault(); }
        return;
      }
      if (event.key === "f" || event.key === "F") { q.querySelector("[data-action=flag]").click(); return; }
      var letter = {"1": "A", "2": "B", "3": "C", "4": "D", "5": "E"}[event.key] || event.key.toUpperCase();
      var input = q.querySelector('.options input[value="' + letter + '"]');
      if (input && !input.disabled && /^[A-E]$/.test(letter)) {
        input.checked = input.type === "radio" ? true : !input.checked;
        input.dispatchEvent(new Event("change", {bubbles: true}));
        event.preventDefault();
      }
    });
    document.getElementById("submit-dialog").addEventListener("show.bs.modal", function () {
      var missing = questions.filter(function (q) { return !isAnswered(q.dataset.position); })
        .map(function (q) { return q.dataset.position; });
      document.getElementById("unanswered-summary").textContent = missing.length
        ? format(msg.unanswered, {n: missing.length, list: missing.join(msg.separator)}) : msg.allAnswered;
      var warning = document.getElementById("unsent-warning");
      warning.hidden = !pendingCount();
      warning.textContent = format(msg.unsent, {n: pendingCount()});
    });
    document.getElementById("submit-form").addEventListener("submit", function (event) {
      if (!pendingCount()) { write("queue", {}); return; }
      event.preventDefault();
      drain(3).then(function () {
        if (!pendingCount()) { write("queue", {}); event.target.submit(); }
        else {
          var warning = document.getElementById("unsent-warning");
          warning.hidden = false;
          warning.textContent = format(msg.unsent, {n: pendingCount()});
        }
      });
    });
    window.addEventListener("online", function () { flush(); });

    (data.bookmarked || []).forEach(function (position) {
      var q = byPosition[position];
      if (q) q.querySelector("[data-action=bookmark]").setAttribute("aria-pressed", "true");
    });
    Object.keys(responses).forEach(function (position) { applyAnswer(position, responses[position]); });
    Object.keys(queue).forEach(function (position) { applyAnswer(position, queue[position]); });
    show(current);
    if (data.state.remaining !== null && data.state.remaining !== undefined) setClock(data.state.remaining);
    window.setInterval(tick, 1000);
    if (data.timed) window.setInterval(syncClock, 60000);
    claim();
  }
})();
