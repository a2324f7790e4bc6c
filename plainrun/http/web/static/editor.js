// The process editor: CodeMirror 6 (vendor/codemirror/codemirror-6.bundle.js, the global PlainrunCM)
// over the form's textarea, which it keeps up to date, so that the form sends what the editor shows.
// The process language is coloured as it is read; the server's parser marks errors as you type
// (POST /ui/editor/check); completion offers the phrases the process can call and the facts in
// scope (POST /ui/editor/vocabulary). Without JavaScript the textarea is the editor.
(function () {
  "use strict";
  var CM = null;  // window.PlainrunCM, once every deferred script has run

  function csrf() {
    var main = document.getElementById("main");
    return main ? main.getAttribute("data-csrf") || "" : "";
  }

  // The response's Content-Security-Policy nonce: CodeMirror's one <style> element carries it.
  function nonce() {
    var meta = document.querySelector("meta[name=csp-nonce]");
    return meta ? meta.getAttribute("content") || "" : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  // --- the process language, for colours ------------------------------------------------------
  var KEYWORDS = {};
  ("if then else otherwise process each as follows set to add subtract remove from convert say stop " +
   "get use imagine ask and or not is are where with in of for by contains starts ends empty true " +
   "false yes no today now above").split(" ").forEach(function (w) { KEYWORDS[w] = true; });
  var ARTICLES = { the: true, a: true, an: true };

  var processLanguage = null;
  var colours = null;

  function setUp() {
    processLanguage = CM.StreamLanguage.define({
      name: "plainrun-process",
      startState: function () { return { fact: false }; },
      token: function (stream, state) {
        if (stream.sol()) state.fact = false;
        if (stream.eatSpace()) return null;
        if (stream.match(/^#.*/)) return "comment";
        if (stream.column() === 0 && stream.indentation() === 0 && stream.sol()) {
          stream.skipToEnd();  // a procedure's name line
          return "heading";
        }
        if (stream.match(/^"(?:[^"\\]|\\.)*"?/) || stream.match(/^“[^”]*”?/)) return "string";
        if (stream.match(/^\d{4}-\d{2}-\d{2}/) || stream.match(/^[$€£]?\d[\d,]*(?:\.\d+)?%?/)) {
          state.fact = false;
          return "number";
        }
        var word = stream.match(/^[A-Za-z_][\w'’]*/);
        if (word) {
          var lower = word[0].toLowerCase();
          if (ARTICLES[lower]) { state.fact = true; return "keyword"; }
          if (KEYWORDS[lower]) { state.fact = false; return "keyword"; }
          return state.fact ? "variableName" : null;
        }
        if (stream.match(/^[<>=+\-*\/:,]+/)) { state.fact = false; return "operator"; }
        stream.next();
        return null;
      },
      languageData: { commentTokens: { line: "#" } }
    });

    colours = CM.HighlightStyle.define([
      { tag: CM.tags.heading, color: "#2456c7", fontWeight: "700" },
      { tag: CM.tags.keyword, color: "#6f3f99" },
      { tag: CM.tags.string, color: "#1c7c43" },
      { tag: CM.tags.number, color: "#9a5b00" },
      { tag: CM.tags.comment, color: "#5b6475", fontStyle: "italic" },
      { tag: CM.tags.variableName, color: "#8a1c4a" },
      { tag: CM.tags.operator, color: "#5b6475" }
    ]);
  }

  // --- errors as you type -------------------------------------------------------------------------
  function lintSource(url, status) {
    return function (view) {
      var source = view.state.doc.toString();
      return post(url, { source: source }).then(function (answer) {
        var doc = view.state.doc;
        if (doc.toString() !== source) return [];  // typed on meanwhile: the next check answers
        var found = answer.errors.map(function (e) {
          var line = doc.line(Math.min(Math.max(e.line, 1), doc.lines));
          var from = Math.min(line.from + Math.max(e.column - 1, 0), line.to);
          var to = line.to > from ? line.to : Math.min(from + 1, doc.length);
          return { from: from, to: to, severity: "error", message: "Line " + e.line + ", column " + e.column + ": " + e.message };
        });
        show(status, answer.errors);
        return found;
      }).catch(function () {
        status.textContent = "The text could not be checked just now.";
        return [];
      });
    };
  }

  function show(status, errors) {
    status.textContent = "";
    if (!errors.length) {
      status.className = "lint-status ok";
      status.textContent = "No syntax errors.";
      return;
    }
    status.className = "lint-status errors";
    var head = document.createElement("p");
    head.textContent = errors.length === 1 ? "1 syntax error:" : errors.length + " syntax errors:";
    var list = document.createElement("ul");
    errors.forEach(function (e) {
      var item = document.createElement("li");
      item.setAttribute("data-line", String(e.line));
      item.textContent = "Line " + e.line + ", column " + e.column + ": " + e.message;
      list.appendChild(item);
    });
    status.appendChild(head);
    status.appendChild(list);
  }

  // --- completion -----------------------------------------------------------------------------
  // "uppercase a (text)" -> "uppercase the ${text}": each parameter a field that Tab moves through.
  function template(label) {
    return label
      .replace(/\b(?:an?|the) \(([^)]+)\)/g, function (_, name) { return "the ${" + name + "}"; })
      .replace(/\(([^)]+)\)/g, function (_, name) { return "${the " + name + "}"; });
  }

  function completer(url) {
    var cached = null;
    function vocabulary(state, line) {
      var now = Date.now();
      if (cached && cached.line === line && (cached.doc === state.doc || now - cached.at < 1500)) {
        return cached.answer;
      }
      var answer = post(url, { source: state.doc.toString(), line: line });
      cached = { doc: state.doc, line: line, at: now, answer: answer };
      return answer;
    }
    return function (context) {
      var line = context.state.doc.lineAt(context.pos);
      var before = line.text.slice(0, context.pos - line.from);
      if (/^\S/.test(before) || before.indexOf("#") >= 0 || (before.split('"').length % 2) === 0) return null;
      var fact = /(?:^|\s)the\s+([A-Za-z0-9_'’ ]*)$/i.exec(before);
      var indent = /^\s*/.exec(before)[0].length;
      var typed = before.slice(indent);
      if (!fact && !typed && !context.explicit) return null;
      return vocabulary(context.state, line.number).then(function (answer) {
        if (fact) {
          return {
            from: context.pos - fact[1].length,
            options: answer.facts.map(function (name) {
              return { label: name, type: "variable", detail: "fact" };
            }),
            validFor: /^[\w'’ ]*$/
          };
        }
        return {
          from: line.from + indent,
          options: answer.phrases.map(function (p) {
            var detail = p.origin === "book" ? "book" : "this process";
            if (p.params.length) detail += " · " + p.params.join(", ");
            return CM.snippetCompletion(template(p.label), {
              label: p.label, type: p.kind === "to" ? "function" : "property", detail: detail
            });
          }),
          // Once "the" is typed, a fact follows: ask again rather than filter the phrases.
          validFor: function (typed) { return /^[\w'’ ]*$/.test(typed) && !/(^|\s)the\s/i.test(typed); }
        };
      }).catch(function () { return null; });
    };
  }

  // --- the editor ---------------------------------------------------------------------------------
  function mount(box) {
    var text = box.querySelector("textarea");
    if (!CM || !text) return;
    var form = text.form;
    var status = document.createElement("div");
    status.className = "lint-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    status.id = text.id + "-check";
    var saved = text.defaultValue;  // what the server has (or the text it sent back with its errors)
    var unsaved = form && form.querySelector("[data-unsaved]");
    var submitting = false;
    // The field's own message (a refused form, forms.py) stays tied to what the person edits.
    var described = [status.id, text.getAttribute("aria-describedby")].filter(Boolean).join(" ");
    var attributes = { "aria-label": "Process text", "aria-describedby": described, spellcheck: "false" };
    if (text.getAttribute("aria-invalid")) attributes["aria-invalid"] = "true";
    var view = new CM.EditorView({
      parent: box,
      state: CM.EditorState.create({
        doc: text.value,
        extensions: [
          CM.EditorView.cspNonce.of(nonce()),
          CM.lineNumbers(),
          CM.highlightActiveLineGutter(),
          CM.history(),
          CM.drawSelection(),
          CM.highlightActiveLine(),
          CM.indentUnit.of("  "),
          processLanguage,
          CM.syntaxHighlighting(colours),
          CM.lintGutter(),
          CM.linter(lintSource(box.getAttribute("data-check"), status), { delay: 500 }),
          CM.autocompletion({ override: [completer(box.getAttribute("data-vocabulary"))], activateOnTyping: true }),
          CM.keymap.of([].concat(CM.completionKeymap, CM.defaultKeymap, CM.historyKeymap, CM.searchKeymap, [CM.indentWithTab])),
          CM.EditorView.contentAttributes.of(attributes),
          CM.EditorView.updateListener.of(function (update) {
            if (!update.docChanged) return;
            text.value = update.state.doc.toString();
            var dirty = text.value !== saved;
            box.toggleAttribute("data-dirty", dirty);
            if (unsaved) unsaved.textContent = dirty ? "Unsaved changes." : "";
          })
        ]
      })
    });
    box.classList.add("cm");
    text.hidden = true;
    text.removeAttribute("required");  // the editor, not the hidden field, is what the person fills in
    var gutter = box.querySelector(".gutter");
    if (gutter) gutter.hidden = true;
    box.parentNode.insertBefore(status, box.nextSibling);
    var label = document.querySelector("label[for='" + text.id + "']");
    if (label) label.addEventListener("click", function () { view.focus(); });
    if (text.value !== saved || box.hasAttribute("data-unsaved-text")) box.setAttribute("data-dirty", "");
    if (form) form.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("beforeunload", function (event) {
      if (submitting || !box.hasAttribute("data-dirty")) return;
      event.preventDefault();
      event.returnValue = "";  // the browser asks whether to leave with the unsaved edits
    });
    box.plainrunView = view;
  }

  // Buttons that ask first (archive, restore, rotate, remove): without JavaScript they just act.
  function confirming(button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
    });
  }

  // The run form: only the chosen stage's inputs are shown and sent.
  function runForm(form) {
    function update() {
      var chosen = form.querySelector("input[name=stage]:checked");
      form.querySelectorAll("[data-stage-inputs]").forEach(function (set) {
        var on = chosen && set.getAttribute("data-stage-inputs") === chosen.value;
        set.hidden = !on;
        set.disabled = !on;
      });
    }
    form.addEventListener("change", update);
    update();
  }

  // Copy buttons (an e-mail address).
  function copying(button) {
    button.addEventListener("click", function () {
      var value = document.getElementById(button.getAttribute("data-copy")).textContent;
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard) navigator.clipboard.writeText(value).then(done, function () {});
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    CM = window.PlainrunCM || null;
    if (CM) {
      setUp();
      document.querySelectorAll(".editor[data-check]").forEach(mount);
    }
    document.querySelectorAll("[data-confirm]").forEach(confirming);
    document.querySelectorAll("form[data-run-form]").forEach(runForm);
    document.querySelectorAll("[data-copy]").forEach(copying);
  });
})();
