// The "Reports" section: sessions over a range of days (GET /api/reports/summary), as
// figures, a bar chart of sessions per period and a table per agent, and the sessions
// themselves as CSV (GET /api/reports/sessions?format=csv). Administrators see the
// whole account (and may pick one agent), an agent their own sessions.

import { api } from '../api.js';
import { h, messageLine, nextId } from '../dom.js';
import { formatDateTime, formatNumber, t } from '../i18n.js';
import { card, sectionHeading } from '../ui.js';
import { OUTCOME_LABELS, formatDuration } from './session.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const DAY_MS = 86_400_000;
const GROUPS = [['day', 'console.reports.day'], ['week', 'console.reports.week'], ['month', 'console.reports.month']];
const OUTCOMES = ['completed', 'declined', 'expired', 'dropped', 'open'];
const outcomeName = (code) => (code === 'open' ? t('console.reports.notEnded') : OUTCOME_LABELS[code]);

/** YYYY-MM-DD of a Date, in UTC (the reports' days are UTC days). */
const isoDay = (date) => date.toISOString().slice(0, 10);

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

const seconds = (value) => (value === null || value === undefined ? '—' : formatDuration(value));

function ratingLine(rating) {
  if (!rating || !rating.count) return t('console.reports.noRatings');
  const average = formatNumber(Number(rating.average), { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  return t('console.reports.rating', { average, count: rating.count });
}

/** "3 Nov", "week of 3 Nov", "Nov 2026": how a period is named. */
function periodName(period, group, long = false) {
  const date = new Date(`${period}T00:00:00Z`);
  if (group === 'month') return formatDateTime(date, { month: long ? 'long' : 'short', year: 'numeric', timeZone: 'UTC' });
  const day = formatDateTime(date, { day: 'numeric', month: 'short', ...(long ? { year: 'numeric' } : {}), timeZone: 'UTC' });
  return group === 'week' && long ? t('console.reports.weekOf', { day }) : day;
}

function stat(label, value, testid, hint) {
  return h('div', { class: 'stat', 'data-testid': testid },
    h('span', { class: 'stat-label' }, label),
    h('span', { class: 'stat-value', 'data-testid': `${testid}-value` }, value),
    hint ? h('span', { class: 'stat-hint muted small' }, hint) : null);
}

/** Sessions per period as bars: inline SVG made through DOM calls, with a table alternative. */
function chart(periods, group) {
  const width = 720;
  const height = 220;
  const left = 36;
  const bottom = 28;
  const top = 10;
  const most = Math.max(1, ...periods.map((p) => p.sessions));
  const slot = (width - left - 8) / Math.max(1, periods.length);
  const barWidth = Math.max(2, Math.min(40, slot * 0.7));
  const plot = height - top - bottom;
  const busiest = periods.reduce((a, b) => (b.sessions > (a ? a.sessions : -1) ? b : a), null);
  const total = periods.reduce((n, p) => n + p.sessions, 0);
  const label = periods.length
    ? t(`console.reports.chart.${group}`, { total, count: periods.length, most: busiest.sessions, busiest: periodName(busiest.period, group, true) })
    : t('console.reports.chartEmpty');
  const titleId = nextId('chart-title');
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId, 'data-testid': 'report-chart', preserveAspectRatio: 'xMidYMid meet' },
    svg('title', { id: titleId }, label));
  // Gridlines at 0, half and the top, with their numbers.
  for (const value of [...new Set([0, Math.round(most / 2), most])]) {
    const y = top + plot - (value / most) * plot;
    root.append(
      svg('line', { class: 'chart-grid', x1: left, x2: width - 4, y1: y, y2: y }),
      svg('text', { class: 'chart-axis', x: left - 6, y: y + 4, 'text-anchor': 'end' }, value));
  }
  const every = Math.max(1, Math.ceil(periods.length / 10)); // at most about ten labels
  periods.forEach((p, i) => {
    const x = left + i * slot + (slot - barWidth) / 2;
    const barHeight = (p.sessions / most) * plot;
    root.append(svg('rect', {
      class: 'chart-bar', x, y: top + plot - barHeight, width: barWidth, height: Math.max(barHeight, p.sessions ? 1 : 0), rx: 2,
      'data-period': p.period, 'data-sessions': p.sessions,
    }, svg('title', {}, t('console.reports.bar', { period: periodName(p.period, group, true), count: p.sessions }))));
    if (i % every === 0) {
      root.append(svg('text', { class: 'chart-axis', x: x + barWidth / 2, y: height - 8, 'text-anchor': 'middle' }, periodName(p.period, group)));
    }
  });
  const rows = periods.map((p) => h('tr', {},
    h('th', { scope: 'row' }, periodName(p.period, group, true)),
    h('td', { class: 'num' }, p.sessions),
    h('td', { class: 'num' }, p.outcomes.completed),
    h('td', {}, seconds(p.duration_s.median))));
  const table = h('details', { class: 'chart-table', 'data-testid': 'report-chart-table' },
    h('summary', {}, t('console.reports.asTable')),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, ['period', 'sessions', 'completed', 'duration'].map((col) => h('th', { scope: 'col' }, t(`console.reports.col.${col}`))))),
        h('tbody', {}, rows))));
  return h('div', { class: 'chart-wrap' }, root, table);
}

function agentsTable(agents) {
  if (!agents.length) return h('p', { class: 'muted', 'data-testid': 'report-agents-empty' }, t('console.reports.noSessions'));
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table table-responsive', 'data-testid': 'report-agents' },
      h('thead', {}, h('tr', {}, ['agent', 'sessions', 'completed', 'declined', 'expired', 'dropped', 'duration', 'joinWait', 'rating']
        .map((col) => h('th', { scope: 'col' }, t(`console.reports.col.${col}`))))),
      h('tbody', {}, agents.map((a) => h('tr', { 'data-testid': 'report-agent-row', 'data-agent-id': a.agent_id },
        h('td', { 'data-label': t('console.reports.col.agent'), class: 'cell-email' }, a.agent_name && a.agent_name !== a.agent
          ? [h('span', {}, a.agent_name), h('span', { class: 'muted small block' }, a.agent)] : a.agent),
        h('td', { 'data-label': t('console.reports.col.sessions'), class: 'num' }, a.sessions),
        h('td', { 'data-label': t('console.reports.col.completed'), class: 'num' }, a.outcomes.completed),
        h('td', { 'data-label': t('console.reports.col.declined'), class: 'num' }, a.outcomes.declined),
        h('td', { 'data-label': t('console.reports.col.expired'), class: 'num' }, a.outcomes.expired),
        h('td', { 'data-label': t('console.reports.col.dropped'), class: 'num' }, a.outcomes.dropped),
        h('td', { 'data-label': t('console.reports.col.duration') }, seconds(a.duration_s.median)),
        h('td', { 'data-label': t('console.reports.col.joinWait') }, seconds(a.join_wait_s.median)),
        h('td', { 'data-label': t('console.reports.col.rating') }, ratingLine(a.rating)))))));
}

export async function renderReports(container, app) {
  const admin = app.me.user.role === 'admin';
  const today = new Date();
  const control = (label, el) => {
    el.id = el.id || nextId('report');
    return h('div', { class: 'field' }, h('label', { class: 'label', for: el.id }, label), el);
  };
  const from = h('input', { type: 'date', class: 'input', required: true, 'data-testid': 'report-from', value: isoDay(new Date(today.getTime() - 29 * DAY_MS)) });
  const to = h('input', { type: 'date', class: 'input', required: true, 'data-testid': 'report-to', value: isoDay(today) });
  const group = h('select', { class: 'input select', 'data-testid': 'report-group' }, GROUPS.map(([value, key]) => h('option', { value }, t(key))));
  const outcome = h('select', { class: 'input select', 'data-testid': 'report-outcome' },
    h('option', { value: '' }, t('console.anyOutcome')),
    Object.entries(OUTCOME_LABELS).map(([value, text]) => h('option', { value }, text)));
  const agent = admin ? h('select', { class: 'input select', 'data-testid': 'report-agent' }, h('option', { value: '' }, t('console.everyone'))) : null;
  if (agent) {
    try {
      const { users } = await api.get('/api/users');
      users.slice().sort((a, b) => a.email.localeCompare(b.email))
        .forEach((u) => agent.append(h('option', { value: u.id }, u.display_name && u.display_name !== u.email ? `${u.display_name} (${u.email})` : u.email)));
    } catch (err) {
      if (err.error === 'not_authenticated') return;
    }
  }
  const show = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'report-show' }, t('console.reports.show'));
  const csv = h('a', { class: 'btn btn-secondary', 'data-testid': 'report-csv', download: '' }, t('console.reports.csv'));
  const form = h('form', { class: 'report-filters', novalidate: true, 'data-testid': 'report-filters', 'aria-label': t('console.reports.filters') },
    control(t('console.reports.from'), from), control(t('console.reports.to'), to), control(t('console.reports.groupBy'), group),
    control(t('console.sessions.col.outcome'), outcome), agent ? control(t('console.reports.col.agent'), agent) : null,
    h('div', { class: 'report-actions' }, show, csv));
  const error = messageLine('report-error');
  const body = h('div', { class: 'report-body', 'aria-live': 'polite', 'data-testid': 'report-body' });

  const params = () => {
    const p = new URLSearchParams({ from: from.value, to: to.value });
    if (agent && agent.value) p.set('agent', agent.value);
    if (outcome.value) p.set('outcome', outcome.value);
    return p;
  };
  const syncCsv = () => {
    const p = params();
    p.set('format', 'csv');
    csv.href = `/api/reports/sessions?${p}`;
  };

  let generation = 0;
  const load = async () => {
    const mine = ++generation;
    error.hide();
    if (!from.value || !to.value) {
      error.show(t('console.reports.chooseDays'));
      return;
    }
    if (from.value > to.value) {
      error.show(t('console.reports.wrongOrder'));
      return;
    }
    syncCsv();
    const p = params();
    p.set('group', group.value);
    body.setAttribute('aria-busy', 'true');
    try {
      const summary = await api.get(`/api/reports/summary?${p}`);
      if (mine !== generation) return;
      const { total } = summary;
      const outcomesLine = OUTCOMES.filter((k) => total.outcomes[k]).map((k) => `${outcomeName(k)} ${formatNumber(total.outcomes[k])}`).join(' · ') || t('console.none');
      body.replaceChildren(
        h('div', { class: 'stats', 'data-testid': 'report-cards' },
          stat(t('console.reports.col.sessions'), formatNumber(total.sessions), 'report-sessions'),
          stat(t('console.reports.outcomes'), outcomesLine, 'report-outcomes'),
          stat(t('console.reports.col.duration'), seconds(total.duration_s.median), 'report-duration-median',
            total.duration_s.count ? t('console.reports.ofLive', { count: total.duration_s.count }) : null),
          stat(t('console.reports.p90'), seconds(total.duration_s.p90), 'report-duration-p90'),
          stat(t('console.reports.col.joinWait'), seconds(total.join_wait_s.median), 'report-join-wait', t('console.reports.joinWaitHint')),
          stat(t('console.policy.rating'), ratingLine(total.rating), 'report-rating')),
        card({ title: t(`console.reports.per.${group.value}`), testid: 'report-periods' }, chart(summary.periods, group.value)),
        card({ title: t('console.reports.agents'), testid: 'report-agents-card' }, agentsTable(summary.agents)));
    } catch (err) {
      if (mine !== generation || err.error === 'not_authenticated') return;
      body.replaceChildren();
      error.show(err.message);
    } finally {
      if (mine === generation) body.removeAttribute('aria-busy');
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  for (const el of [group, outcome, agent].filter(Boolean)) el.addEventListener('change', load);
  for (const el of [from, to]) el.addEventListener('change', syncCsv);
  syncCsv();

  container.replaceChildren(
    sectionHeading(t('console.nav.reports'), admin
      ? t('console.reports.subtitleAdmin')
      : t('console.reports.subtitle')),
    card({ testid: 'report-range' }, form, error.el),
    body,
  );
  await load();
}
