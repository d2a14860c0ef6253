// SmartHub dashboard: the little the server-rendered pages need in the browser. No libraries, nothing downloaded.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Parts of a page that refresh themselves (the resources table).
  for (const element of document.querySelectorAll("[data-refresh]")) {
    const interval = Number(element.dataset.interval || 2000);
    const refresh = async () => {
      try {
        const response = await fetch(element.dataset.refresh, { credentials: "same-origin", cache: "no-store" });
        if (response.ok) {
          element.innerHTML = await response.text();
        } else if (response.status === 401) {
          location.href = "/login";
          return;
        }
      } catch {
        // The AppHost is stopping or restarting: try again at the next tick.
      }
      setTimeout(refresh, interval);
    };
    setTimeout(refresh, interval);
  }

  // Filters that apply as soon as a choice changes.
  for (const form of document.querySelectorAll("form[data-autosubmit]")) {
    form.addEventListener("change", () => form.submit());
  }

  // Secrets are masked until revealed: the value is fetched only on request.
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.reveal");
    if (!button) {
      return;
    }
    const masked = button.previousElementSibling;
    if (button.dataset.revealed === "true") {
      masked.textContent = "••••••••";
      masked.classList.add("masked");
      button.textContent = "Reveal";
      button.dataset.revealed = "false";
      return;
    }
    const response = await fetch(button.dataset.reveal, { credentials: "same-origin", cache: "no-store" });
    if (response.ok) {
      masked.textContent = await response.text();
      masked.classList.remove("masked");
      button.textContent = "Hide";
      button.dataset.revealed = "true";
    }
  });

  // Console logs, live: one server-sent event per line.
  const console = document.getElementById("console");
  if (console && console.dataset.stream) {
    const maxLines = 5000;
    const format = (text) => {
      // The services log JSON (Logging__Console__FormatterName=json): shown as "level category: message".
      if (text.startsWith("{")) {
        try {
          const entry = JSON.parse(text);
          if (entry.Message !== undefined) {
            const level = entry.LogLevel ? entry.LogLevel.substring(0, 4).toLowerCase() : "info";
            const line = `${entry.Timestamp ? entry.Timestamp + " " : ""}${level}: ${entry.Category || ""}: ${entry.Message}`;
            return { line: entry.Exception ? line + "\n" + entry.Exception : line, level };
          }
        } catch {
          // Not JSON after all: shown as it came.
        }
      }
      return { line: text, level: "" };
    };
    const source = new EventSource(console.dataset.stream);
    source.onmessage = (event) => {
      const atBottom = console.scrollTop + console.clientHeight >= console.scrollHeight - 4;
      const { line, level } = format(event.data);
      const row = document.createElement("div");
      row.className = "line" + (level ? " level-" + level : "");
      row.textContent = line;
      console.appendChild(row);
      while (console.childElementCount > maxLines) {
        console.firstElementChild.remove();
      }
      if (atBottom) {
        console.scrollTop = console.scrollHeight;
      }
    };
  }
});
