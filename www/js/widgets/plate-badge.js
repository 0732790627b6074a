// A plate shown the way it looks on the car, on every page that lists vehicles.

import { h } from '../ui.js';

/**
 * The plate's colours by its type (GA 36): blue for small cars, yellow for large cars, motorcycles,
 * trailers and driving-school cars, green for small new-energy cars, yellow-to-green for large new-energy
 * ones, black for embassy, consulate, overseas and foreign cars, white for police.
 */
const COLOURS = {
  '01': 'yellow', '07': 'yellow', '08': 'yellow', 13: 'yellow', 15: 'yellow', 16: 'yellow', 17: 'yellow',
  51: 'green-gradient', 52: 'green',
  '03': 'black', '04': 'black', '05': 'black', '06': 'black', '09': 'black', 10: 'black', 11: 'black', 12: 'black',
  23: 'white', 24: 'white',
};

export function plateColour(plateType) {
  return COLOURS[plateType] ?? 'blue';
}

export function plateBadge(vehicle) {
  const text = vehicle.plateDisplay ?? vehicle.plateMasked ?? vehicle.plateNumber ?? '';
  const colour = plateColour(vehicle.plateType);
  // `nev` is kept for the new-energy plates: tests and styles name them by it.
  const nev = colour.startsWith('green') ? ' nev' : '';
  return h('span', { class: `plate ${colour}${nev}`, lang: 'zh-CN', 'data-plate-colour': colour }, text);
}
