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

  // Results go grey and say "out of date" as soon as the ticket changes; a new ranking clears it.
  window.deskMarkStale = () => {
    if ($("#ranked-table table")) $("#results").classList.add("stale");
  };
  window.deskShowBanner = () => {
    const banner = $("#banner");
    if (!banner) return;
    const top = banner.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight - 120) $("#results").scrollIntoView({ block: "start" });
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
