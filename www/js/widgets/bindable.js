// Whether anyone else could bind one of my vehicles, from the core's rules alone: a vehicle the rules
// never let be bound (a taxi, a rental, a large car, a company car) or one that already has the most
// binders gets no QR code, and the owner reads why instead of a code that would be refused on the scan.

import { rulesFor, nowInstant } from '../core.js';
import { app, policyFor } from '../state.js';
import { vehicleFacts } from '../facts.js';

/** The refusals that belong to the vehicle, whoever the binder. */
const VEHICLE_CODES = new Set([
  'FEATURE_NOT_AVAILABLE_IN_CITY', 'VEHICLE_NOT_INDIVIDUAL_OWNED', 'PLATE_TYPE_NOT_BINDABLE', 'USE_NATURE_NOT_BINDABLE',
  'VEHICLE_BINDER_LIMIT_REACHED',
]);

/**
 * The reasons nobody else can bind `vehicle` (mine) by QR code; empty when someone could. `binders` are
 * the vehicle's current binders as /vehicles lists them. Null when the rules cannot be asked.
 */
export async function whyNotBindable(vehicle, binders = vehicle.binders ?? []) {
  let rules;
  try {
    rules = rulesFor(await policyFor(vehicle.city));
  } catch (err) {
    console.warn('rules unavailable', err);
    return null;
  }
  const facts = vehicleFacts(vehicle, String(app.person.id));
  const answer = rules.checkBinding({
    // Someone else, verified: only what concerns the vehicle can refuse them.
    binder: { id: 'another-driver', identityVerified: true, licence: null },
    vehicle: facts,
    binderBindings: [],
    vehicleBindings: binders.map((b, i) => ({ binderId: `binder-${i}`, vehicleId: facts.id, createdAt: b.createdAt })),
    method: 'qr',
    channel: 'app',
    stage: 'precheck',
    now: nowInstant(),
  });
  return answer.reasons.filter((r) => VEHICLE_CODES.has(r.code));
}
