// Where a violation can be dealt with, as a badge: in the citizen's list and at the window.

import { t } from '../i18n.js';
import { h } from '../ui.js';

const ROUTE_LABELS = {
  online: 'routeOnline',
  window: 'routeWindow',
  view_only: 'routeViewOnly',
  settled: 'routeSettled',
  not_theirs: 'routeNotTheirs',
};

/** The route as a badge; at the window, "online" means it can be handled on the spot. */
export function routeBadge(route, { atWindow = false } = {}) {
  const key = atWindow && route === 'online' ? 'routeHere' : (ROUTE_LABELS[route] ?? 'routeViewOnly');
  return h('span', { class: `badge ${route}`, 'data-route': route }, t(key));
}
