// The live dashboard: reads `events` (server-sent events, relative to this
// page, so it works mounted under any path): `snapshot` (rt.inspect()) every
// interval and `feed` batches. Plain browser JavaScript, no build step; every
// value from the runtime is written as text (textContent), never as HTML.
(() => {
  const kHistory = 120; // points kept per chart: two minutes at the default interval
  const kActorRows = 200;
  const kFeedItems = 200;
  const svgNs = 'http://www.w3.org/2000/svg';
  const palette = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4f46e5', '#65a30d'];

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, text) => {
    const node = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = String(text);
    return node;
  };
  const fmt = (n, digits = 0) =>
    n === null || n === undefined || Number.isNaN(n) ? '–' : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits });
  const shortModule = (url) => (url ? url.replace(/^.*\//, '') : '–');
  const compact = (n) => (n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : `${+n.toFixed(2)}`);
  const colourOf = (slot) => `hsl(${(slot * 137.508) % 360} 62% 52%)`;

  // ------------------------------------------------------------------ header

  function renderTotals(s) {
    $('node').textContent = s.node ? `node ${s.node}` : '';
    $('total-actors').textContent = `${fmt(s.totals.liveActors)} / ${fmt(s.totals.maxAgents)}`;
    $('total-rate').textContent = fmt(s.totals.rate);
    $('total-handled').textContent = fmt(s.totals.handled);
    $('total-dead').textContent = fmt(s.totals.deadLetters);
    $('total-failures').textContent = fmt(s.totals.failures);
    $('total-crashes').textContent = fmt(s.totals.crashes);
    const secs = Math.floor(s.uptimeMs / 1000);
    $('uptime').textContent = secs < 3600 ? `${Math.floor(secs / 60)}m ${secs % 60}s` : `${Math.floor(secs / 3600)}h ${Math.floor((secs % 3600) / 60)}m`;
  }

  function setConnection(state) {
    const pill = $('status');
    pill.textContent = state;
    pill.className = `pill ${state === 'live' ? 'pill-ok' : state === 'reconnecting' ? 'pill-warn' : 'pill-wait'}`;
  }

  // ----------------------------------------------------------------- threads

  const statusClass = {
    running: 'pill-ok',
    idle: 'pill',
    busy: 'pill-ok',
    starting: 'pill-warn',
    recovering: 'pill-warn',
    unresponsive: 'pill-bad',
    down: 'pill-bad',
    failed: 'pill-bad',
    suspended: 'pill-warn',
    migrating: 'pill-warn',
    stopping: 'pill-warn',
  };
  const pill = (status) => el('span', { class: `pill ${statusClass[status] ?? ''}` }, status);

  function bar(fraction) {
    const wrap = el('span');
    const outer = el('span', { class: fraction > 0.8 ? 'bar hot' : 'bar' });
    const inner = el('i');
    inner.style.width = `${Math.min(100, Math.max(0, (fraction ?? 0) * 100)).toFixed(1)}%`;
    outer.append(inner);
    wrap.append(outer, el('span', { class: 'bar-label' }, fraction === null ? '–' : `${Math.round(fraction * 100)}%`));
    return wrap;
  }

  function renderThreads(s) {
    const body = $('threads').tBodies[0];
    body.replaceChildren(
      ...s.threads.map((t) => {
        const row = el('tr', { 'data-thread': t.thread });
        const cell = (content, cls) => {
          const td = el('td', cls ? { class: cls } : undefined);
          if (content instanceof Node) td.append(content);
          else td.textContent = content;
          return td;
        };
        row.append(
          cell(String(t.thread)),
          cell(pill(t.status)),
          cell(fmt(t.actors), 'num'),
          cell(bar(t.elu)),
          cell(bar(t.ringFill)),
          cell(fmt(t.rate), 'num'),
          cell(fmt(t.responseMs, 2), 'num'),
        );
        return row;
      }),
    );
  }

  // ------------------------------------------------------------------ charts

  const charts = { rate: undefined, latency: undefined, threads: -1 };
  const history = { t: [], total: [], perThread: [], response: [], taskWait: [] };

  function makeChart(target, series) {
    const width = Math.max(240, target.clientWidth);
    return new uPlot(
      {
        width,
        height: 180,
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [
          { stroke: '#6b7280', grid: { stroke: '#eef0f3' } },
          { stroke: '#6b7280', grid: { stroke: '#eef0f3' }, size: 48, values: (_u, ticks) => ticks.map(compact) },
        ],
        series: [{}, ...series],
      },
      [history.t, ...series.map(() => [])],
      target,
    );
  }

  function ensureCharts(threads) {
    if (charts.threads === threads) return;
    charts.threads = threads;
    history.perThread = Array.from({ length: threads }, () => history.t.map(() => null));
    history.response = Array.from({ length: threads }, () => history.t.map(() => null));
    charts.rate?.destroy();
    charts.latency?.destroy();
    const perThread = (label) =>
      Array.from({ length: threads }, (_, i) => ({ label: `${label} ${i}`, stroke: palette[(i + 1) % palette.length], width: 1.2 }));
    charts.rate = makeChart($('rate-chart'), [
      { label: 'all threads', stroke: palette[0], width: 2, fill: 'rgba(37,99,235,0.08)' },
      ...perThread('thread'),
    ]);
    charts.latency = makeChart($('latency-chart'), [
      ...perThread('response, thread'),
      { label: 'task wait p99', stroke: '#111827', width: 1.5, dash: [4, 3] },
    ]);
  }

  function renderCharts(s) {
    ensureCharts(s.threads.length);
    history.t.push(s.at / 1000);
    history.total.push(s.totals.rate);
    s.threads.forEach((t, i) => {
      history.perThread[i].push(t.rate);
      history.response[i].push(t.responseMs);
    });
    history.taskWait.push(Number.isFinite(s.scheduler.waitMs?.p99) ? s.scheduler.waitMs.p99 : null);
    if (history.t.length > kHistory)
      for (const list of [history.t, history.total, history.taskWait, ...history.perThread, ...history.response]) list.shift();
    charts.rate.setData([history.t, history.total, ...history.perThread]);
    charts.latency.setData([history.t, ...history.response, history.taskWait]);
  }

  window.addEventListener('resize', () => {
    for (const chart of [charts.rate, charts.latency]) chart?.setSize({ width: Math.max(240, chart.root.parentElement.clientWidth), height: 180 });
  });

  // ------------------------------------------------------------------ actors

  const sort = { key: 'rate', dir: -1 };
  let lastActors = [];

  function compare(a, b) {
    const x = a[sort.key] ?? -Infinity;
    const y = b[sort.key] ?? -Infinity;
    if (typeof x === 'string' || typeof y === 'string') return String(x).localeCompare(String(y)) * sort.dir || a.slot - b.slot;
    return (x - y) * sort.dir || a.slot - b.slot;
  }

  function renderActors(actors, notListed) {
    lastActors = actors;
    const hasP99 = actors.some((a) => typeof a.p99 === 'number');
    for (const th of document.querySelectorAll('#actors .p99')) th.hidden = !hasP99;
    const rows = [...actors].sort(compare).slice(0, kActorRows);
    const more = actors.length - rows.length + notListed;
    $('actors-count').textContent = `${fmt(actors.length + notListed)} live${more > 0 ? `, top ${rows.length} shown` : ''}`;
    $('actors').tBodies[0].replaceChildren(
      ...rows.map((a) => {
        const row = el('tr', { 'data-slot': a.slot });
        const td = (text, cls) => el('td', cls ? { class: cls } : undefined, text);
        const status = el('td');
        status.append(pill(a.status));
        const module = td(shortModule(a.module), 'module');
        module.title = a.module ?? '';
        row.append(td(a.name ?? a.ref), module, td(a.thread, 'num'), status, td(fmt(a.mailbox), 'num mailbox'), td(fmt(a.rate, 1), 'num rate'));
        if (hasP99) row.append(td(fmt(a.p99, 2), 'num p99'));
        row.append(td(fmt(a.restarts), 'num restarts'), td(fmt(a.handled), 'num handled'));
        return row;
      }),
    );
    for (const th of document.querySelectorAll('#actors th[data-sort]')) {
      th.classList.toggle('sorted-asc', th.dataset.sort === sort.key && sort.dir === 1);
      th.classList.toggle('sorted-desc', th.dataset.sort === sort.key && sort.dir === -1);
    }
  }

  for (const th of document.querySelectorAll('#actors th[data-sort]')) {
    th.addEventListener('click', () => {
      const key = th.dataset.sort;
      if (sort.key === key) sort.dir = -sort.dir;
      else {
        sort.key = key;
        sort.dir = ['ref', 'module', 'status', 'thread'].includes(key) ? 1 : -1;
      }
      renderActors(lastActors, 0);
    });
  }

  // ------------------------------------------------------------------ swarms

  function svg(tag, attrs) {
    const node = document.createElementNS(svgNs, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  }

  function renderSwarms(swarms) {
    const box = $('swarms');
    if (swarms.length === 0) {
      box.replaceChildren(el('p', { class: 'muted' }, 'No swarms.'));
      return;
    }
    box.replaceChildren(
      ...swarms.map((s) => {
        const size = 200;
        const r = s.members.length <= 1 ? 0 : 76;
        const at = s.members.map((_, i) => {
          // A star's hub (member 0) in the middle, the others around it.
          if (s.topology === 'star' && i === 0) return [size / 2, size / 2];
          const n = s.topology === 'star' ? s.members.length - 1 : s.members.length;
          const k = s.topology === 'star' ? i - 1 : i;
          const angle = (2 * Math.PI * k) / Math.max(1, n) - Math.PI / 2;
          return [size / 2 + r * Math.cos(angle), size / 2 + r * Math.sin(angle)];
        });
        const graph = svg('svg', { viewBox: `0 0 ${size} ${size}`, role: 'img', 'aria-label': `swarm ${s.name}` });
        for (const [a, b] of s.edges) graph.append(svg('line', { class: 'edge', x1: at[a][0], y1: at[a][1], x2: at[b][0], y2: at[b][1] }));
        s.members.forEach((m, i) => {
          const leader = m === s.leader;
          const dot = svg('circle', { class: leader ? 'leader' : 'member', cx: at[i][0], cy: at[i][1], r: leader ? 9 : 6, 'data-member': m });
          const title = svg('title', {});
          title.textContent = leader ? `${m} (leader, term ${s.term})` : m;
          dot.append(title);
          graph.append(dot);
        });
        const figure = el('figure', { class: 'swarm', 'data-swarm': s.name });
        const caption = el('figcaption', { class: 'caption' });
        caption.append(el('strong', undefined, s.name), document.createTextNode(` · ${s.topology} · ${s.members.length} members · term ${s.term}`));
        if (s.leader) caption.append(el('div', { class: 'muted' }, `leader ${s.leader}`));
        figure.append(graph, caption);
        return figure;
      }),
    );
  }

  // ------------------------------------------------------------------ memory

  function renderMemory(m, actors) {
    const names = new Map(actors.map((a) => [a.slot, a.name ?? a.ref]));
    const owner = new Int32Array(m.regions).fill(-2); // -2 free, -1 runtime's own, else actor slot
    for (const a of m.map) for (let r = a.head; r < a.head + a.run && r < m.regions; r++) owner[r] = a.owner;
    const grid = $('memory-grid');
    if (grid.children.length !== m.regions) grid.replaceChildren(...Array.from({ length: m.regions }, () => el('span')));
    const owners = new Map();
    for (let r = 0; r < m.regions; r++) {
      const cell = grid.children[r];
      const o = owner[r];
      cell.className = o === -1 ? 'own' : '';
      cell.style.background = o >= 0 ? colourOf(o) : '';
      cell.title =
        o === -2
          ? `region ${r}: free`
          : o === -1
            ? `region ${r}: runtime (message in transit, checkpoint)`
            : `region ${r}: ${names.get(o) ?? `slot ${o}`}`;
      if (o >= 0) owners.set(o, (owners.get(o) ?? 0) + 1);
    }
    const kb = (b) => `${fmt(b / 1024)} KB`;
    $('memory-usage').textContent =
      `${kb(m.used)} of ${kb(m.size)} used · ${m.regions} regions of ${kb(m.regionSize)} · largest free run ${kb(m.largestFreeRun)}`;
    const legend = [...owners.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
    $('memory-legend').replaceChildren(
      ...legend.map(([slot, regions]) => {
        const item = el('span');
        const swatch = el('i', { class: 'swatch' });
        swatch.style.background = colourOf(slot);
        item.append(swatch, document.createTextNode(`${names.get(slot) ?? `slot ${slot}`}: ${regions}`));
        return item;
      }),
    );
  }

  // -------------------------------------------------------------------- feed

  const kindClass = { failure: 'pill-bad', crash: 'pill-bad', 'dead-letter': 'pill-warn' };

  let lastFeedId = 0;

  function addFeed(items) {
    const list = $('feed');
    // After a reconnect the server sends its recent items again: skip those already shown (id 0: a summary line).
    const fresh = items.filter((item) => item.id === 0 || item.id > lastFeedId);
    if (fresh.length === 0) return;
    for (const item of fresh) lastFeedId = Math.max(lastFeedId, item.id);
    list.querySelector('.empty')?.remove();
    for (const item of fresh) {
      // The same event again (dead letters to one stopped actor, say): counted on the line already shown.
      const key = `${item.kind}|${item.subject}|${item.text}`;
      const top = list.firstElementChild;
      if (top !== null && top.dataset.key === key) {
        const times = Number(top.dataset.times) + 1;
        top.dataset.times = String(times);
        top.querySelector('.times').textContent = ` ×${fmt(times)}`;
        top.querySelector('time').textContent = new Date(item.at).toLocaleTimeString('en-GB');
        continue;
      }
      const li = el('li', { 'data-kind': item.kind, 'data-key': key, 'data-times': '1' });
      const time = el('time', { datetime: new Date(item.at).toISOString() }, new Date(item.at).toLocaleTimeString('en-GB'));
      const kind = el('span');
      kind.append(el('span', { class: `pill ${kindClass[item.kind] ?? ''}` }, item.kind));
      const subject = el('span', { class: 'subject' }, item.subject);
      subject.append(el('span', { class: 'times' }));
      li.append(time, kind, subject, el('span', { class: 'text' }, item.text));
      list.prepend(li);
    }
    while (list.children.length > kFeedItems) list.lastElementChild.remove();
  }

  // ------------------------------------------------------------------ stream

  function onSnapshot(s) {
    renderTotals(s);
    renderThreads(s);
    renderCharts(s);
    renderActors(s.actors, s.actorsNotListed);
    renderSwarms(s.swarms);
    renderMemory(s.memory, s.actors);
    document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots ?? 0) + 1);
  }

  const events = new EventSource('events');
  events.addEventListener('open', () => setConnection('live'));
  events.addEventListener('error', () => setConnection(events.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
  events.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data)));
  events.addEventListener('feed', (e) => addFeed(JSON.parse(e.data)));
  events.addEventListener('problem', (e) => setConnection(`problem: ${JSON.parse(e.data).message}`));
})();
