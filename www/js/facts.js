// The server's objects stripped down to the facts the core's rules take (src/contract.rs), for the pages'
// instant answers. One place, so that the violation list and the window console send the core the same.

/** A Vehicle as the core's VehicleFacts. */
export function vehicleFacts(v, ownerId) {
  return {
    id: String(v.id), plateType: v.plateType, plateNumber: v.plateNumber,
    ownerKind: v.ownerKind ?? 'individual', useNature: v.useNature ?? 'A',
    ownerId: ownerId ?? null, city: v.city ?? null,
  };
}

/** A Violation as the core's ViolationFacts. */
export function violationFacts(x) {
  return {
    id: String(x.id), vehicleId: String(x.vehicleId), occurredAt: x.occurredAt, points: x.points, fineFen: x.fineFen,
    source: x.source, state: x.state, decidedAt: x.decidedAt ?? null,
  };
}

/** A Person as the core's PersonFacts. */
export function personFacts(p) {
  const licence = p?.licence ? { class: p.licence.class, status: p.licence.status, points: p.licence.points ?? 0 } : null;
  return { id: String(p?.id), identityVerified: Boolean(p?.identityVerified), licence };
}
