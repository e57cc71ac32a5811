() => {
  // The web chat's behaviour in the browser (render.SCRIPT, run once when the page loads):
  // citations bring their source into view (the side panel, or the sources under the message on a
  // narrow screen), copy buttons copy plain text, example questions ask, new answers are announced
  // to screen readers, keyboard shortcuts, and the settings sidebar starts closed on a phone.
  const narrow = () => window.matchMedia('(max-width: 767px)').matches;
  const $ = (sel, root = document) => root.querySelector(sel);
  const flash = (el) => { if (!el) return; el.classList.add('qa-flash'); setTimeout(() => el.classList.remove('qa-flash'), 1600); };
  const box = () => $('#qa-input textarea');
  const button = (id) => { const el = $('#' + id); return el && (el.tagName === 'BUTTON' ? el : $('button', el)); };

  const autoDir = () => { const t = box(); if (t && t.getAttribute('dir') !== 'auto') t.setAttribute('dir', 'auto'); };

  const live = document.createElement('div');
  live.id = 'qa-live'; live.className = 'qa-sr-only';
  live.setAttribute('aria-live', 'polite'); live.setAttribute('role', 'status');
  document.body.appendChild(live);
  let lastAnswer = null;
  const onChatChange = () => {
    const answers = document.querySelectorAll('#qa-chat .qa-bot');
    const last = answers[answers.length - 1];
    const key = last ? last.id + '|' + last.textContent.length : '';
    if (lastAnswer === null) { lastAnswer = key; return; }  // the restored conversation: not news
    if (key === lastAnswer) return;
    lastAnswer = key;
    if (!last) { live.textContent = ''; return; }
    live.textContent = Array.from(last.querySelectorAll('.qa-para, .qa-note')).map(p => p.textContent).join(' ');
    const log = $('#qa-chat .qa-log');
    const question = last.previousElementSibling;
    if (log && question) log.scrollTop = question.offsetTop - log.offsetTop - 8;
  };

  const showTurn = (turn) => {
    document.querySelectorAll('#qa-sources .qa-turn').forEach(t => t.classList.toggle('qa-active', t.dataset.turn === turn));
    document.querySelectorAll('#qa-sources .qa-turn-tab').forEach(b => {
      b.classList.toggle('qa-active', b.dataset.turn === turn); b.setAttribute('aria-pressed', String(b.dataset.turn === turn));
    });
  };

  const showSource = (turn, n) => {
    const panel = $('#qa-sources');
    let scope;
    if (panel && panel.offsetParent !== null) {
      showTurn(turn);
      scope = $(`.qa-turn[data-turn="${turn}"]`, panel);
    } else {
      scope = $(`#qa-answer-${turn} .qa-inline-sources`);
      if (scope) scope.open = true;
    }
    if (!scope) return;
    const mark = $(`mark[data-n="${n}"]`, scope);
    const entry = mark ? mark.closest('.qa-src') : $('.qa-src', scope);
    if (!entry) return;
    (mark || entry).scrollIntoView({block: 'nearest'});
    flash(entry); flash(mark);
  };

  const copy = async (btn) => {
    const text = btn.dataset.copy || '';
    let done = false;
    try { await navigator.clipboard.writeText(text); done = true; } catch (e) { done = false; }
    if (!done) {  // no clipboard API (plain http to another host): the old way
      const area = document.createElement('textarea');
      area.value = text; document.body.appendChild(area); area.select();
      try { done = document.execCommand('copy'); } catch (e) { done = false; }
      area.remove();
    }
    const label = btn.textContent;
    btn.textContent = done ? 'Copied' : 'Copy failed';
    setTimeout(() => { btn.textContent = label; }, 1500);
  };

  const ask = (text) => {
    const t = box();
    if (!t) return;
    t.value = text;
    t.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => { const send = button('qa-send'); if (send) send.click(); }, 0);
  };

  document.addEventListener('click', (ev) => {
    const el = ev.target.closest ? ev.target : ev.target.parentElement;
    if (!el) return;
    const cite = el.closest('a.qa-cite');
    if (cite) { ev.preventDefault(); ev.stopPropagation(); showSource(cite.dataset.turn, cite.dataset.n); return; }
    const copyBtn = el.closest('button.qa-copy');
    if (copyBtn) { copy(copyBtn); return; }
    const example = el.closest('button.qa-example');
    if (example) { ask(example.dataset.q); return; }
    if (el.closest('button.qa-regen')) { const b = button('qa-regenerate'); if (b) b.click(); return; }
    const tab = el.closest('button.qa-turn-tab');
    if (tab) { showTurn(tab.dataset.turn); return; }
    if (el.closest('a.qa-open')) return;
    const entry = el.closest('#qa-sources .qa-src');
    if (entry) {
      flash(entry);
      const mark = el.closest('mark') || $('mark', entry);
      const section = entry.closest('.qa-turn');
      if (mark && section) {
        const link = $(`a.qa-cite[data-turn="${section.dataset.turn}"][data-n="${mark.dataset.n}"]`);
        if (link) { link.scrollIntoView({block: 'nearest'}); flash(link); }
      }
    }
  }, true);

  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && $('#qa-chat-col.qa-busy')) {
      const stop = button('qa-stop'); if (stop) { ev.preventDefault(); stop.click(); }
      return;
    }
    // Only where "/" is text: a focused radio, checkbox or slider (a setting just changed) still lets "/" jump.
    const typing = ev.target.closest && ev.target.closest('textarea, select, [contenteditable="true"], '
      + 'input:not([type=radio]):not([type=checkbox]):not([type=range]):not([type=button]):not([type=submit])');
    if (ev.key === '/' && !typing && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      const t = box(); if (t) { ev.preventDefault(); t.focus(); }
    }
  });

  const closeSidebarOnPhone = (tries) => {
    const toggle = $('#qa-settings .toggle-button');
    if (!toggle) { if (tries > 0) setTimeout(() => closeSidebarOnPhone(tries - 1), 50); return; }
    if (narrow() && $('#qa-settings').classList.contains('open')) toggle.click();
  };
  closeSidebarOnPhone(100);

  // The box is enabled once the saved conversation is restored; then it takes the focus (not on a
  // phone, where focusing would cover the page with the keyboard).
  let focused = false;
  const focusWhenReady = () => {
    const t = box();
    if (focused || !t || t.disabled) return;
    focused = true;
    if (!narrow() && (!document.activeElement || document.activeElement === document.body)) t.focus();
  };

  // Gradio's client can lose the reply to an event sent just as the event stream of an earlier one
  // closes: it takes the stream for open and opens none, so the reply waits on the server. The page
  // watches the queue's traffic (a copy of each response): while an event it joined has not completed
  // and no stream is open, it sends a queued no-op (chat.resume_stream), which opens a stream that
  // delivers what was waiting. At most 20 tries until nothing waits (a reply the server lost must not
  // keep the page sending no-ops); an event waiting for 10 minutes is given up.
  const waiting = new Map();  // event id -> when it was joined
  const completed = new Set();  // recent ids seen completed: a fast event's end can beat its join's reply
  let streams = 0, tries = 0;
  const resumeIfStuck = () => setTimeout(() => {
    for (const [id, since] of waiting) if (Date.now() - since > 600000) waiting.delete(id);
    if (!waiting.size) tries = 0;
    if (!waiting.size || streams > 0 || tries >= 20) return;
    const resume = button('qa-resume');
    if (resume) { tries += 1; resume.click(); }
  }, 400);
  const watchStream = async (response) => {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, {stream: true});
        const lines = buffer.split('\n');
        buffer = lines.pop();
        for (const line of lines) {
          if (!line.startsWith('data:')) continue;
          try {
            const m = JSON.parse(line.slice(5));
            if (m.msg === 'process_completed') {
              waiting.delete(m.event_id);
              completed.add(m.event_id);
              if (completed.size > 200) completed.delete(completed.values().next().value);
            }
          } catch (e) { /* a heartbeat or a partial line */ }
        }
      }
    } catch (e) { /* aborted by the client: the stream is closed */ }
  };
  const pageFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : (input && input.url) || String(input);
    const method = ((init && init.method) || (input && input.method) || 'GET').toUpperCase();
    const stream = url.includes('/queue/data') && method === 'GET';
    if (stream) streams += 1;
    let response;
    try { response = await pageFetch(input, init); } catch (e) { if (stream) { streams -= 1; resumeIfStuck(); } throw e; }
    if (stream) {
      watchStream(response.clone()).finally(() => { streams -= 1; resumeIfStuck(); });
    } else if (url.includes('/queue/join')) {
      response.clone().json().then((j) => { if (j && j.event_id && !completed.has(j.event_id)) { waiting.set(j.event_id, Date.now()); resumeIfStuck(); } }, () => {});
    }
    return response;
  };

  autoDir();
  new MutationObserver(() => { autoDir(); onChatChange(); focusWhenReady(); }).observe(document.body, {childList: true, subtree: true});
}
