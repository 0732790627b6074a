// Where a violation can be dealt with, as a badge: in the citizen's list and at the window.

import { t } from '../i18n.js';
import { h } from '../ui.js';
import { app } from '../state.js';

const ROUTE_LABELS = {
  online: 'routeOnline',
  window: 'routeWindow',
  view_only: 'routeViewOnly',
  settled: 'routeSettled',
  not_theirs: 'routeNotTheirs',
};

/**
 * The route as a badge. At the window (`here`: nothing stands against handling it at this counter) the
 * window route reads "can be handled here".
 */
export function routeBadge(route, { here = false } = {}) {
  // At a kiosk, "online" is this machine.
  const atKiosk = app.channel === 'kiosk' && route === 'online';
  const key = here ? 'routeHere' : atKiosk ? 'routeKiosk' : (ROUTE_LABELS[route] ?? 'routeViewOnly');
  return h('span', { class: `badge ${here ? 'online' : route}`, 'data-route': route }, t(key));
}
