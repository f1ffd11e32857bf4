// FAQ Rerank Desk page script: keyboard shortcuts, per-row Copy, out-of-date results.
// It finds widgets by their elem_id (see reranker/ui/rerank_tab.py); nothing here talks to the server.
(() => {
  const $ = (selector) => document.querySelector(selector);
  const shown = (element) => element && element.offsetParent !== null;

  // Ctrl/Cmd+Enter in the question or the answers runs the visible tab's action; Alt+N: new ticket.
  document.addEventListener("keydown", (event) => {
    const inTicket = event.target.closest && event.target.closest("#query, #pasted");
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && inTicket) {
      event.preventDefault();
      const action = [$("#rank-pasted"), $("#rank-faq")].find(shown);
      if (action) action.click();
    } else if (event.altKey && event.code === "KeyN") {
      event.preventDefault();
      const button = $("#new-ticket");
      if (button) button.click();
    }
  });

  // Copy a row's answer; the copied text is also kept in body[data-copied] for tests and audits.
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button.copy-answer");
    if (!button) return;
    const text = button.closest("tr").querySelector(".answer").innerText;
    document.body.dataset.copied = text;
    if (navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
    button.textContent = button.dataset.done;
  });

  // A saved pick shows on its own button ("✓ Saved · Undo"), from the pick message's data-saved-pick;
  // a new ranking, an Undo or a new ticket clears the message and so the mark.
  const syncPicks = () => {
    const saved = $("#pick-status [data-saved-pick]");
    const id = saved ? saved.dataset.savedPick : null;
    for (const button of document.querySelectorAll("#ranked-table [data-pick]")) {
      const isSaved = id !== null && button.dataset.pick === id;
      if (button.classList.contains("saved") === isSaved) continue;
      button.classList.toggle("saved", isSaved);
      button.setAttribute("aria-pressed", String(isSaved));
      button.textContent = isSaved ? button.dataset.saved : button.dataset.label;
    }
  };
  new MutationObserver((mutations) => {
    if (mutations.some((m) => m.target.closest && m.target.closest("#pick-status, #ranked-table"))) syncPicks();
  }).observe(document.body, { childList: true, subtree: true });

  // Gradio heads every error pop-up with its type, "Error", and leaves gr.Error's title out: the
  // pop-up is headed in the agent's language instead, with the title the page header carries.
  const titleErrors = () => {
    const header = $("[data-error-title]");
    if (!header) return;
    for (const title of document.querySelectorAll(".toast-title.error")) {
      const text = title.firstChild;
      if (text && text.nodeType === Node.TEXT_NODE && text.nodeValue.trim() === "Error") {
        text.nodeValue = `${header.dataset.errorTitle} `;
      }
    }
  };
  new MutationObserver(titleErrors).observe(document.body, { childList: true, subtree: true, characterData: true });

  // Gradio's table toolbar names its copy button in English whatever the page's language
  // ("Copy table data", then "Copied to clipboard"): both are put in the agent's language.
  const labelTableButtons = () => {
    const header = $("[data-table-copy]");
    if (!header) return;
    const labels = { "Copy table data": header.dataset.tableCopy, "Copied to clipboard": header.dataset.tableCopied };
    for (const button of document.querySelectorAll('button[title="Copy table data"], button[title="Copied to clipboard"]')) {
      const label = labels[button.getAttribute("title")];
      if (!label || label === button.getAttribute("title")) continue;
      button.setAttribute("title", label);
      button.setAttribute("aria-label", label);
    }
  };
  new MutationObserver(labelTableButtons).observe(document.body, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["title"],
  });

  // A long answer is folded to a few lines; "more" unfolds it, "less" folds it again.
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("#ranked-table button.more");
    if (!button) return;
    const answer = button.parentElement.querySelector(".answer");
    const folded = answer.classList.toggle("folded");
    if (!button.dataset.more) button.dataset.more = button.textContent;
    button.textContent = folded ? button.dataset.more : button.dataset.less;
  });

  // Results go grey and say "out of date" as soon as the ticket changes; a new ranking clears it.
  window.deskMarkStale = () => {
    if ($("#ranked-table table")) $("#results").classList.add("stale");
  };
  // After a ranking, the banner and the first result must be on screen (on a phone the results are
  // below the ticket): scroll the results to the top of the screen when either is not.
  window.deskShowBanner = () => {
    const banner = $("#banner");
    if (!banner) return;
    const top = banner.getBoundingClientRect().top;
    const first = $("#ranked-table tbody tr");
    const firstTop = first ? first.getBoundingClientRect().top : top;
    if (top < 0 || top > window.innerHeight - 120 || firstTop > window.innerHeight - 80) {
      $("#results").scrollIntoView({ block: "start" });
    }
  };
  // New ticket: nothing on the screen belongs to the old ticket, so nothing is out of date.
  window.deskNewTicket = () => {
    const results = $("#results");
    if (results) results.classList.remove("stale");
    const question = $("#query textarea");
    if (question) question.focus();
  };
  window.deskFresh = () => {
    const results = $("#results");
    if (results) results.classList.remove("stale");
    window.deskShowBanner();
  };
  document.addEventListener(
    "input",
    (event) => {
      if (event.target.closest && event.target.closest("#query, #pasted, #override")) window.deskMarkStale();
    },
    true,
  );
})();
