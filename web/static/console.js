// The console's own script: upload progress, the live recipient count of a broadcast's audience, and its
// delivery progress. Everything works without it (plain form posts, 计算人数, 刷新).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) { return; }
      event.preventDefault();
      var bar = form.querySelector("progress");
      var note = form.querySelector(".progress-note");
      var button = form.querySelector("button[type=submit]");
      if (bar) { bar.hidden = false; bar.value = 0; }
      if (note) { note.hidden = false; }
      if (button) { button.disabled = true; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (bar && e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 100); }
      });
      xhr.upload.addEventListener("load", function () { if (bar) { bar.removeAttribute("value"); } });
      xhr.addEventListener("load", function () {
        document.open();
        document.write(xhr.responseText);
        document.close();
        if (xhr.responseURL) { history.replaceState(null, "", xhr.responseURL); }
      });
      xhr.addEventListener("error", function () {
        if (button) { button.disabled = false; }
        if (note) { note.textContent = "上传失败，请检查网络后重试。"; }
      });
      xhr.send(new FormData(form));
    });
  });
  var compose = document.getElementById("compose");
  var output = document.getElementById("bc-count");
  if (compose && output && window.fetch && window.URLSearchParams) {
    var recount = function () {
      var params = new URLSearchParams();
      compose.querySelectorAll("fieldset input[type=checkbox]:checked").forEach(function (box) {
        params.append(box.name, box.value);
      });
      fetch(compose.getAttribute("data-count-url") + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) { output.textContent = String(data.count); } })
        .catch(function () { /* keep the last count; 计算人数 still works */ });
    };
    compose.querySelectorAll("fieldset input[type=checkbox]").forEach(function (box) {
      box.addEventListener("change", recount);
    });
  }
  var progress = document.querySelector("[data-poll]");
  if (progress && window.fetch) {
    var url = progress.getAttribute("data-poll");
    var live = ["scheduled", "queued", "sending"];
    var poll = function () {
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          progress.querySelectorAll("[data-count]").forEach(function (el) {
            var key = el.getAttribute("data-count");
            if (key in data) { el.textContent = String(data[key]); }
          });
          var bar = document.getElementById("bc-bar");
          if (bar) { bar.max = data.total || 1; bar.value = data.done; }
          var state = document.getElementById("bc-state");
          if (state) { state.textContent = data.state_label; }
          if (live.indexOf(data.state) >= 0) { window.setTimeout(poll, 2000); }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    };
    window.setTimeout(poll, 2000);
  }
});
