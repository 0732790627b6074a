// A plate shown the way it looks on the car, on every page that lists vehicles.

import { h } from '../ui.js';

/** Blue for small cars, green for new-energy ones. */
export function plateBadge(vehicle) {
  const text = vehicle.plateDisplay ?? vehicle.plateMasked ?? vehicle.plateNumber ?? '';
  const nev = vehicle.plateType === '52' || vehicle.plateType === '51';
  return h('span', { class: `plate${nev ? ' nev' : ''}`, lang: 'zh-CN' }, text);
}
