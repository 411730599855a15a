// The operator's page (provider/ui): refresh the parts marked data-live every few seconds, and
// stream a job's algorithm log into <pre id="log">. Log text only ever goes in as text nodes.
"use strict";

const REFRESH_MS = 2000;

async function refresh() {
  try {
    const answer = await fetch(location.href, { credentials: "same-origin", cache: "no-store" });
    if (!answer.ok) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
    for (const old of document.querySelectorAll("[data-live][id]")) {
      const replacement = fresh.getElementById(old.id);
      if (replacement) old.replaceWith(document.importNode(replacement, true));
    }
  } catch (error) {
    // The provider restarting: try again at the next tick.
  }
}

function streamLog(pre) {
  const source = new EventSource(pre.dataset.stream);
  let first = true;
  source.onmessage = (event) => {
    if (first) {
      pre.textContent = "";
      first = false;
    }
    const follow = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.append(document.createTextNode(JSON.parse(event.data)));
    if (follow) pre.scrollTop = pre.scrollHeight;
  };
  source.addEventListener("end", () => {
    source.close();
    pre.dataset.ended = "true";
  });
  source.onerror = () => {
    // Refused (429, 404) or cut: EventSource would retry forever; say so once and stop.
    source.close();
    if (pre.dataset.ended !== "true") {
      pre.append(document.createTextNode("\n[log stream closed; reload to follow again]\n"));
    }
  };
}

document.addEventListener("DOMContentLoaded", () => {
  const pre = document.getElementById("log");
  if (pre && pre.dataset.stream) streamLog(pre);
  if (document.querySelector("[data-live]")) setInterval(refresh, REFRESH_MS);
});
